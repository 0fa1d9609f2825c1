"""``flowsep train RECIPE.yaml``: run a training stage (see :mod:`flowsep.train`)."""

from __future__ import annotations


def register(subparsers):
    from ..train import add_arguments, run_from_args

    parser = subparsers.add_parser("train", help="train a stage (vae, flow, vocoder) or assemble a pipeline")
    add_arguments(parser)
    parser.set_defaults(func=run_from_args)
