"""``flowsep build-benchmark KIND SOURCE OUT ...``: build a fixed, seeded benchmark folder from a local dataset copy
(see :mod:`flowsep.evaluation.kinds` and ``eval/README.md``)."""

from __future__ import annotations

import argparse
from dataclasses import fields

from ..evaluation.kinds import KINDS, BuildSpec
from ..evaluation.kinds import __doc__ as KINDS_DOC
from .options import positive_int


def register(subparsers):
    parser = subparsers.add_parser(
        "build-benchmark", help="build a fixed, seeded benchmark of mixtures from a local dataset copy",
        description="Build a fixed, seeded benchmark of mixtures.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=KINDS_DOC.split("\n\n", 1)[1],
    )  # fmt: skip
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("source", help="the dataset's local root folder (a manifest for 'manifest')")
    parser.add_argument("out", help="the benchmark folder to write")
    parser.add_argument("--name", help="benchmark name, prefix of the item ids (default: the kind)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    parser.add_argument("--count", type=positive_int, help="number of mixtures (default: the paper's)")
    levels = parser.add_mutually_exclusive_group()
    levels.add_argument("--snr", type=float, nargs=2, metavar=("LO", "HI"), help="SNR range in dB")
    levels.add_argument("--loudness", type=float, nargs=2, metavar=("LO", "HI"), help="per-source LUFS range")
    parser.add_argument("--pool", type=positive_int, help="draw from this many clips only")
    parser.add_argument(
        "--balance-classes",
        action="store_true",
        help="targets class by class (first label), not clip by clip",
    )
    parser.add_argument(
        "--split", help="draw from this split only (train, valid, test; AudioCaps/VGGSound: test)"
    )
    parser.add_argument("--clip-list", help="file of clip ids to draw from (one per line)")
    parser.add_argument("--csv", help="DCASE index CSV, when not under SOURCE")
    parser.add_argument("--sample-rate", type=positive_int, default=16000, help="rate of the written files")
    parser.add_argument(
        "--segment-seconds", type=float, help="item length (default 10 s; released sets: whole)"
    )
    parser.add_argument("--force", action="store_true", help="rebuild over an existing benchmark")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluation.kinds import build_benchmark

    values = {field.name: getattr(args, field.name) for field in fields(BuildSpec)}
    spec = BuildSpec(
        **{key: tuple(value) if isinstance(value, list) else value for key, value in values.items()}
    )
    print(f"wrote {build_benchmark(spec)}")
    return 0
