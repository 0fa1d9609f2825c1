"""``flowsep build-manifest KIND ROOT OUT``: write a clip manifest from a local dataset copy (see
:mod:`flowsep.data.readers` for the layouts each kind expects)."""

from __future__ import annotations

import argparse

from ..data.readers import READERS


def register(subparsers):
    parser = subparsers.add_parser(
        "build-manifest", help="write a clip manifest (JSONL/CSV) from a local dataset copy",
        description="Write a clip manifest from a local copy of AudioCaps, Clotho, WavCaps, VGGSound or "
                    "DCASE 2024 Task 9 (nothing is downloaded).",
    )  # fmt: skip
    parser.add_argument("kind", choices=sorted(READERS))
    parser.add_argument("root", help="the dataset's local folder")
    parser.add_argument("out", help="manifest to write (.jsonl or .csv)")
    parser.add_argument("--audio-glob", default="**/*", help="which files under root are audio candidates")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.readers import build_manifest

    print(f"wrote {build_manifest(args.kind, args.root, args.out, audio_glob=args.audio_glob)}")
    return 0
