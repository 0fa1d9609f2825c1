"""``flowsep build-manifest KIND ROOT OUT``: write a clip manifest from a local dataset copy (see
:mod:`flowsep.data.readers` for the layouts each kind expects)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..data.readers import READERS
from ..errors import OutputPathError, UsageError
from .outputs import check_output_files

MANIFEST_SUFFIXES = (".jsonl", ".csv")


def register(subparsers):
    parser = subparsers.add_parser(
        "build-manifest", help="write a clip manifest (JSONL/CSV) from a local dataset copy",
        description="Write a clip manifest from a local copy of AudioCaps, Clotho, WavCaps, VGGSound or "
                    "DCASE 2024 Task 9 (nothing is downloaded).",
    )  # fmt: skip
    parser.add_argument("kind", choices=sorted(READERS))
    parser.add_argument("root", help="the dataset's local folder")
    parser.add_argument("out", help="manifest to write (.jsonl or .csv)")
    parser.add_argument(
        "--audio-glob", default="**/*", help="which files under root are audio candidates (relative to root)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing manifest")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.readers import build_manifest

    # 1. Check the pattern and the manifest's path before any file is read
    pattern, root, out = Path(args.audio_glob), Path(args.root), Path(args.out)
    if pattern.is_absolute() or ".." in pattern.parts:
        raise UsageError(f"--audio-glob {args.audio_glob}: give a pattern relative to the root, inside it")
    check_output_files([out], [], args.overwrite, suffixes=MANIFEST_SUFFIXES)
    if out.is_file() and out.resolve().is_relative_to(root.resolve()) and out.suffix.lower() == ".csv":
        raise OutputPathError(
            f"{out} is a CSV file under the dataset root, which may be the dataset's own metadata (the readers "
            "read CSV files there): not replaced, even with --overwrite; choose another name"
        )

    # 2. Read the dataset and write the manifest
    print(f"wrote {build_manifest(args.kind, args.root, args.out, audio_glob=args.audio_glob)}")
    return 0
