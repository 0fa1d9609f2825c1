"""Options shared by the ``flowsep`` sub-commands: the parser class, argument types and the model options."""

from __future__ import annotations

import argparse

from ..decoding import DECODERS, MASK_RULES
from ..errors import UsageError
from ..loading import DTYPES, load_pipeline
from ..schedulers import SOLVERS, make_scheduler


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose errors raise :class:`UsageError` (one line, exit code 2) instead of exiting."""

    def error(self, message: str):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def non_negative(text: str) -> float:
    """argparse type: a float >= 0."""
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def add_model_arguments(parser: argparse.ArgumentParser, steps_nargs: str | None = None):
    """Options of every command that runs a model; ``steps_nargs="+"`` takes several step counts."""
    parser.add_argument("--model", default=None, help="model folder or hub id (default: the shipped flowsep-mini)")
    parser.add_argument(
        "--steps", type=positive_int, nargs=steps_nargs, default=10 if steps_nargs is None else [10],
        help="ODE steps (default 10)" + ("; several values run one system each" if steps_nargs else ""),
    )  # fmt: skip
    parser.add_argument("--guidance", type=float, default=1.0, help="classifier-free guidance scale (1 = off)")
    parser.add_argument("--solver", choices=sorted(SOLVERS), default="euler", help="ODE solver")
    parser.add_argument("--shift", type=float, default=None, help="timestep shift of the schedule")
    parser.add_argument("--decoder", choices=DECODERS, default="mask", help="waveform decoder")
    parser.add_argument("--mask-rule", choices=MASK_RULES, default="ratio", help="mask of the mask decoder")
    parser.add_argument(
        "--source-noise", type=non_negative, default=None,
        help="start noise of a model whose flow starts from the mixture (0 = deterministic; default: the model's)",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the start noise (no effect when it is 0, as for flowsep-mini)"
    )
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 ... (default: auto)")
    parser.add_argument("--dtype", choices=tuple(DTYPES), default="fp32", help="weights' dtype")


def sampling_options(args: argparse.Namespace) -> dict:
    """The pipeline keyword arguments that :func:`add_model_arguments` sets (besides the model and its solver)."""
    return {
        "num_inference_steps": args.steps, "guidance_scale": args.guidance, "decoder": args.decoder,
        "mask_rule": args.mask_rule, "source_noise": args.source_noise,
    }  # fmt: skip


def prepare_pipeline(args: argparse.Namespace):
    """Load the model named by ``args`` with its solver settings."""
    pipe = load_pipeline(args.model, args.device, args.dtype)
    pipe.scheduler = make_scheduler(args.solver, args.shift, dict(pipe.scheduler.config))
    return pipe
