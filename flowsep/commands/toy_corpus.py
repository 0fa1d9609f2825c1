"""``flowsep toy-corpus OUT``: write the formula-made toy corpus of :mod:`flowsep.training.toy_corpus`, for smoke
runs (``recipes/tiny/``)."""

from __future__ import annotations

import argparse

from .options import positive_int


def register(subparsers):
    parser = subparsers.add_parser(
        "toy-corpus", help="write a small corpus of synthetic sounds and its manifests, for smoke runs"
    )
    parser.add_argument("out_dir", help="folder for audio/, train.jsonl and valid.jsonl")
    parser.add_argument(
        "--clips-per-sound", type=positive_int, default=3, help="clips of each sound (default 3)"
    )
    parser.add_argument("--seconds", type=float, default=1.0, help="length of every clip (default 1 s)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..training.toy_corpus import make_toy_corpus

    for path in make_toy_corpus(args.out_dir, args.clips_per_sound, args.seconds):
        print(f"wrote {path}")
    return 0
