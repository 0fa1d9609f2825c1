"""Options shared by the ``flowsep`` sub-commands: the parser class, argument types and the model options.

Light on purpose (no torch, diffusers or transformers at import): every flag is parsed and checked, and every
output path too, before :func:`prepare_pipeline` imports and loads anything.
"""

from __future__ import annotations

import argparse
import math

from ..choices import (
    DECODERS,
    DTYPES,
    MASK_RULES,
    MAX_SCALE,
    MAX_SEED,
    MAX_STEPS,
    SCHEDULER_FAMILIES,
    SIGMA_GRIDS,
    SOLVER_FAMILIES,
    SOLVERS,
)
from ..errors import UsageError


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose errors raise :class:`UsageError` (one line, exit code 2) instead of exiting."""

    def error(self, message: str):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _number(text: str, kind=float):
    try:
        value = kind(text)
    except ValueError:
        expected = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def bounded(low: float | None = None, high: float | None = None, kind=float, above: bool = False):
    """An argparse type: a finite number of ``kind`` (``float`` or ``int``) at least ``low`` (more than ``low``
    when ``above``) and at most ``high``; every numeric flag of every command is one of these."""

    def parse(text: str):
        value = _number(text, kind)
        if (low is not None and (value <= low if above else value < low)) or (
            high is not None and value > high
        ):
            parts = [] if low is None else [f"> {low:g}" if above else f"at least {low:g}"]
            parts += [] if high is None else [f"at most {high:g}" if kind is float else f"at most {high}"]
            raise argparse.ArgumentTypeError(f"must be {' and '.join(parts)}, got {text}")
        return value

    parse.__name__ = f"bounded({low!r}, {high!r}, {kind.__name__}{', above' if above else ''})"  # for pins
    return parse


finite = bounded()
non_negative = bounded(0.0)
positive = bounded(0.0, above=True)
positive_int = bounded(1, kind=int)
non_negative_int = bounded(0, kind=int)
step_count = bounded(1, MAX_STEPS, int)
guidance_scale = bounded(-MAX_SCALE, MAX_SCALE)
source_noise = bounded(0.0, MAX_SCALE)
timestep_shift = bounded(0.0, MAX_SCALE, above=True)
seed = bounded(0, MAX_SEED, int)
seconds = bounded(0.0, 3600.0, above=True)  # a clip or item length
sample_rate = bounded(1000, 384000, int)  # the rates soundfile writes


def add_model_arguments(parser: argparse.ArgumentParser, steps_nargs: str | None = None):
    """Options of every command that runs a model; ``steps_nargs="+"`` takes several step counts."""
    parser.add_argument(
        "--model", default=None, help="model folder or hub id (default: the shipped flowsep-mini)"
    )
    parser.add_argument(
        "--steps", type=step_count, nargs=steps_nargs, default=10 if steps_nargs is None else [10],
        help=f"ODE steps, 1 to {MAX_STEPS} (default 10)" + ("; several values run one system each" if steps_nargs else ""),
    )  # fmt: skip
    parser.add_argument(
        "--guidance",
        type=guidance_scale,
        default=1.0,
        help=f"classifier-free guidance scale, -{MAX_SCALE:g} to {MAX_SCALE:g} (1 = off)",
    )
    parser.add_argument(
        "--solver", choices=SOLVERS, default=None,
        help="sampler (default: the model's own; flow: euler, heun, midpoint; diffusion: ddim, dpmsolver++)",
    )  # fmt: skip
    parser.add_argument(
        "--shift",
        type=timestep_shift,
        default=None,
        help=f"timestep shift of the schedule (> 0, at most {MAX_SCALE:g})",
    )
    parser.add_argument(
        "--sigma-grid", choices=SIGMA_GRIDS, default=None,
        help="a flow solver's steps: uniform (N steps of 1/N) or diffusers (ending at 0.001; default: the model's)",
    )  # fmt: skip
    parser.add_argument(
        "--decoder", choices=DECODERS, default=None,
        help="waveform decoder (default: the model's; mask for flowsep's, vocoder for the official FlowSep)",
    )  # fmt: skip
    parser.add_argument("--mask-rule", choices=MASK_RULES, default="ratio", help="mask of the mask decoder")
    parser.add_argument(
        "--source-noise", type=source_noise, default=None,
        help="start noise of a model whose flow starts from the mixture (0 = deterministic; default: the model's)",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=seed, default=0,
        help="seed of the start noise, 0 to 2^64 - 1 (no effect when the source noise is 0, as for flowsep-mini)",
    )  # fmt: skip
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, mps (default: auto)")
    parser.add_argument("--dtype", choices=DTYPES, default="fp32", help="weights' dtype")


# The options of add_model_arguments that decide a model's outputs (besides --model and --steps)
MODEL_SETTINGS = (
    "solver",
    "shift",
    "sigma_grid",
    "decoder",
    "mask_rule",
    "source_noise",
    "guidance",
    "seed",
    "dtype",
)


def sampling_options(args: argparse.Namespace) -> dict:
    """The pipeline keyword arguments that :func:`add_model_arguments` sets (besides the model and its solver)."""
    return {
        "num_inference_steps": args.steps, "guidance_scale": args.guidance, "decoder": args.decoder,
        "mask_rule": args.mask_rule, "source_noise": args.source_noise, "sigma_grid": args.sigma_grid,
    }  # fmt: skip


def check_model_options(args: argparse.Namespace):
    """Check the model options against the model folder and the machine, before anything loads: the folder is a
    complete FlowSepPipeline, ``--decoder vocoder`` has a vocoder, ``--solver`` and ``--shift`` suit the kind of
    model (flow, diffusion, predictive), the device exists."""
    from ..loading import (
        check_device,
        check_model_source,
        default_model,
        model_has_vocoder,
        model_scheduler_class,
    )

    check_device(args.device)
    model = args.model or default_model()
    if not check_model_source(model):
        return
    if args.decoder == "vocoder" and not model_has_vocoder(model):
        raise UsageError(f"--decoder vocoder: the model {model} has no vocoder (use --decoder mask)")
    family = SCHEDULER_FAMILIES.get(model_scheduler_class(model))
    if family and args.solver is not None and args.solver not in SOLVER_FAMILIES[family]:
        choices = ", ".join(SOLVER_FAMILIES[family])
        raise UsageError(f"--solver {args.solver}: {model} is a {family} model, sampled by {choices}")
    if family and family != "flow" and args.shift is not None:
        raise UsageError(f"--shift: applies to flow models; {model} is a {family} model")


def prepare_pipeline(args: argparse.Namespace):
    """Load the model named by ``args`` with its solver settings."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    from ..loading import load_pipeline
    from ..schedulers import config_of, make_scheduler

    diffusers_logging.disable_progress_bar()  # no "Loading pipeline components" bars: one line per output
    transformers_logging.disable_progress_bar()
    pipe = load_pipeline(args.model, args.device, args.dtype)
    pipe.scheduler = make_scheduler(args.solver, args.shift, config_of(pipe.scheduler))
    return pipe
