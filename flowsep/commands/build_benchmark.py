"""``flowsep build-benchmark KIND SOURCE OUT ...``: build a fixed, seeded benchmark folder from a local dataset copy
(see :mod:`flowsep.evaluation.kinds` and ``eval/README.md``). Every flag, the source and the benchmark folder are
checked before torch is imported."""

from __future__ import annotations

import argparse
import ast
import importlib.util
from pathlib import Path

from ..choices import BENCHMARK_KINDS
from ..errors import UsageError
from .options import bounded, positive_int, sample_rate, seconds, seed

level = bounded(-100.0, 100.0)  # an SNR in dB or a loudness in LUFS


def kinds_table() -> str:
    """The table of kinds in :mod:`flowsep.evaluation.kinds`'s docstring, read without importing the module."""
    source = Path(importlib.util.find_spec("flowsep.evaluation.kinds").origin).read_text(encoding="utf-8")
    return ast.get_docstring(ast.parse(source)).split("\n\n", 1)[1]


def register(subparsers):
    parser = subparsers.add_parser(
        "build-benchmark", help="build a fixed, seeded benchmark of mixtures from a local dataset copy",
        description="Build a fixed, seeded benchmark of mixtures.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=kinds_table(),
    )  # fmt: skip
    parser.add_argument("kind", choices=BENCHMARK_KINDS)
    parser.add_argument("source", help="the dataset's local root folder (a manifest for 'manifest')")
    parser.add_argument("out", help="the benchmark folder to write")
    parser.add_argument("--name", help="benchmark name, prefix of the item ids (default: the kind)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of every random choice (default 0)")
    parser.add_argument("--count", type=positive_int, help="number of mixtures (default: the paper's)")
    levels = parser.add_mutually_exclusive_group()
    levels.add_argument("--snr", type=level, nargs=2, metavar=("LO", "HI"), help="SNR range in dB")
    levels.add_argument("--loudness", type=level, nargs=2, metavar=("LO", "HI"), help="per-source LUFS range")
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
    parser.add_argument("--sample-rate", type=sample_rate, default=16000, help="rate of the written files")
    parser.add_argument(
        "--segment-seconds", type=seconds, help="item length (default 10 s; released sets: whole)"
    )
    parser.add_argument("--force", action="store_true", help="rebuild over an existing benchmark")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from ..data.manifest import ManifestError
    from ..evaluation.benchmark import check_benchmark_folder

    # 1. Check the ranges, the inputs and the benchmark folder before torch is imported
    for flag, bounds in (("--snr", args.snr), ("--loudness", args.loudness)):
        if bounds and bounds[0] > bounds[1]:
            raise UsageError(f"{flag} {bounds[0]:g} {bounds[1]:g}: LO must not be above HI")
    if not Path(args.source).exists():
        raise ManifestError(f"dataset source not found: {args.source}")
    for flag, path in (("--clip-list", args.clip_list), ("--csv", args.csv)):
        if path and not Path(path).is_file():
            raise UsageError(f"{flag} {path}: file not found")
    check_benchmark_folder(args.out, [p for p in (args.source, args.clip_list, args.csv) if p], args.force)

    # 2. Build
    from ..evaluation.kinds import BuildSpec, build_benchmark

    values = {field.name: getattr(args, field.name) for field in fields(BuildSpec)}
    spec = BuildSpec(
        **{key: tuple(value) if isinstance(value, list) else value for key, value in values.items()}
    )
    print(f"wrote {build_benchmark(spec)}")
    return 0
