"""``python -m flowsep.evaluation.build KIND SOURCE OUT ...``: build a benchmark (see
:mod:`flowsep.evaluation.builders` and ``eval/README.md``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import FlowSepError
from .builders import KINDS, BuildSpec, build_benchmark
from .builders import __doc__ as BUILDERS_DOC


def parse_args(argv: Sequence[str] | None = None) -> BuildSpec:
    parser = argparse.ArgumentParser(
        prog="python -m flowsep.evaluation.build", description="Build a fixed, seeded benchmark of mixtures.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=BUILDERS_DOC.split("\n\n", 1)[1],
    )  # fmt: skip
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("source", help="the dataset's local root folder (a manifest for 'manifest')")
    parser.add_argument("out", help="the benchmark folder to write")
    parser.add_argument("--name", help="benchmark name, prefix of the item ids (default: the kind)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    parser.add_argument("--count", type=int, help="number of mixtures (default: the paper's)")
    levels = parser.add_mutually_exclusive_group()
    levels.add_argument("--snr", type=float, nargs=2, metavar=("LO", "HI"), help="SNR range in dB")
    levels.add_argument("--loudness", type=float, nargs=2, metavar=("LO", "HI"), help="per-source LUFS range")
    parser.add_argument("--pool", type=int, help="draw from this many clips only")
    parser.add_argument(
        "--split", help="draw from this split only (train, valid, test; AudioCaps/VGGSound: test)"
    )
    parser.add_argument("--clip-list", help="file of clip ids to draw from (one per line)")
    parser.add_argument("--csv", help="DCASE index CSV, when not under SOURCE")
    parser.add_argument(
        "--sample-rate", type=int, default=16000, help="rate of the written files (default 16000)"
    )
    parser.add_argument(
        "--segment-seconds", type=float, help="item length (default 10 s; released sets: whole)"
    )
    parser.add_argument("--force", action="store_true", help="rebuild over an existing benchmark")
    args = vars(parser.parse_args(argv))
    args = {key: tuple(value) if isinstance(value, list) else value for key, value in args.items()}
    return BuildSpec(**args)


def main(argv: Sequence[str] | None = None) -> int:
    spec = parse_args(argv)
    try:
        manifest = build_benchmark(spec)
    except FlowSepError as error:
        print(f"build {spec.kind}: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
