"""``flowsep separate``: extract (or remove) the queried sound from one file."""

from __future__ import annotations

import argparse

import torch

from ..audio import read_audio_file, save_audio
from ..models.text_encoder import check_queries
from .options import add_model_arguments, prepare_pipeline, sampling_options
from .outputs import check_output_files


def register(subparsers):
    parser = subparsers.add_parser("separate", help="separate the sound a text query describes from a mixture")
    parser.add_argument("mixture", help="input audio file (wav, flac, ogg; any rate, mono or multichannel)")
    query = parser.add_mutually_exclusive_group(required=True)
    query.add_argument("--query", "-q", help="the sound to keep, e.g. 'a dog barking'")
    query.add_argument("--remove", help="the sound to remove: the output is everything else")
    parser.add_argument("-o", "--output", required=True, help="output file for the kept sound")
    parser.add_argument("--residual", help="also write the other part (the mixture minus the output)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    add_model_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    outputs = [args.output] + ([args.residual] if args.residual else [])
    check_output_files(outputs, [args.mixture], args.overwrite)
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
