"""``flowsep separate``: extract (or remove) the queried sound from one file."""

from __future__ import annotations

import argparse

import torch

from ..audio import read_audio_file, save_audio
from ..decoding import DECODERS, MASK_RULES
from ..errors import QueryError
from ..loading import load_pipeline
from ..models.text_encoder import check_queries
from ..schedulers import SOLVERS, make_scheduler


def non_negative(text: str) -> float:
    """argparse type: a float >= 0."""
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def add_model_arguments(parser: argparse.ArgumentParser):
    """Options shared by every command that runs a model."""
    parser.add_argument("--model", default=None, help="model folder or hub id (default: the shipped flowsep-mini)")
    parser.add_argument("--steps", type=int, default=10, help="ODE steps (default 10)")
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
    parser.add_argument("--dtype", choices=("fp32", "fp16", "bf16"), default="fp32", help="weights' dtype")


def sampling_options(args: argparse.Namespace) -> dict:
    """The pipeline keyword arguments that ``add_model_arguments`` sets (besides the model and its solver)."""
    return {
        "num_inference_steps": args.steps, "guidance_scale": args.guidance, "decoder": args.decoder,
        "mask_rule": args.mask_rule, "source_noise": args.source_noise,
    }  # fmt: skip


def prepare_pipeline(args: argparse.Namespace):
    """Load the model named by ``args`` with its solver settings."""
    pipe = load_pipeline(args.model, args.device, args.dtype)
    pipe.scheduler = make_scheduler(args.solver, args.shift, dict(pipe.scheduler.config))
    return pipe


def register(subparsers):
    parser = subparsers.add_parser("separate", help="separate the sound a text query describes from a mixture")
    parser.add_argument("mixture", help="input audio file (wav, flac, ogg; any rate, mono or multichannel)")
    query = parser.add_mutually_exclusive_group(required=True)
    query.add_argument("--query", "-q", help="the sound to keep, e.g. 'a dog barking'")
    query.add_argument("--remove", help="the sound to remove: the output is everything else")
    parser.add_argument("-o", "--output", required=True, help="output file for the kept sound")
    parser.add_argument("--residual", help="also write the other part (the mixture minus the output)")
    add_model_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.output == args.mixture or args.residual == args.mixture:
        raise QueryError("the output would overwrite the input mixture: choose another file name")
    mixture, rate = read_audio_file(args.mixture)  # bad input fails before the model is loaded
    check_queries(args.query or args.remove)
    pipe = prepare_pipeline(args)
    result = pipe(
        args.query or args.remove,
        mixture,
        sample_rate=rate,
        return_residual=True,
        generator=torch.Generator(device="cpu").manual_seed(args.seed),
        **sampling_options(args),
    )
    target, residual = result.audios[0], result.residuals[0]
    kept, other = (residual, target) if args.remove else (target, residual)
    save_audio(args.output, kept, result.sample_rate)
    if args.residual:
        save_audio(args.residual, other, result.sample_rate)
    print(f"wrote {args.output}" + (f" and {args.residual}" if args.residual else ""))
    return 0
