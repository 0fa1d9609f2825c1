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


def finite(text: str) -> float:
    """argparse type: a finite float (no nan, no inf)."""
    return _number(text)


def non_negative(text: str) -> float:
    """argparse type: a finite float >= 0."""
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def positive(text: str) -> float:
    """argparse type: a finite float > 0."""
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def step_count(text: str) -> int:
    """argparse type: an ODE step count, 1 to ``MAX_STEPS``."""
    value = _number(text, int)
    if not 1 <= value <= MAX_STEPS:
        raise argparse.ArgumentTypeError(f"must be at least 1 and at most {MAX_STEPS}, got {text}")
    return value


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
        "--guidance", type=finite, default=1.0, help="classifier-free guidance scale (1 = off)"
    )
    parser.add_argument(
        "--solver", choices=SOLVERS, default=None,
        help="sampler (default: the model's own; flow: euler, heun, midpoint; diffusion: ddim, dpmsolver++)",
    )  # fmt: skip
    parser.add_argument("--shift", type=positive, default=None, help="timestep shift of the schedule (> 0)")
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
        "--source-noise", type=non_negative, default=None,
        help="start noise of a model whose flow starts from the mixture (0 = deterministic; default: the model's)",
    )  # fmt: skip
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the start noise (no effect when it is 0, as for flowsep-mini)",
    )
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, mps (default: auto)")
    parser.add_argument("--dtype", choices=DTYPES, default="fp32", help="weights' dtype")


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
