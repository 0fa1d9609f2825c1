"""``flowsep toy-corpus OUT``: write the formula-made toy corpus of :mod:`flowsep.training.toy_corpus`, for smoke
runs (``recipes/tiny/``). Every file it writes is checked first: inside OUT, and replaced only with
``--overwrite``."""

from __future__ import annotations

import argparse

from ..errors import OutputPathError
from .options import bounded
from .outputs import check_output_folder


def register(subparsers):
    parser = subparsers.add_parser(
        "toy-corpus", help="write a small corpus of synthetic sounds and its manifests, for smoke runs"
    )
    parser.add_argument("out_dir", help="folder for audio/, train.jsonl and valid.jsonl")
    parser.add_argument(
        "--clips-per-sound", type=bounded(2, 1000, int), default=3,
        help="clips of each sound, 2 to 1000 (default 3; the last is the validation clip)",
    )  # fmt: skip
    parser.add_argument(
        "--seconds", type=bounded(0.0, 60.0, above=True), default=1.0,
        help="length of every clip, up to 60 s (default 1 s)",
    )  # fmt: skip
    parser.add_argument("--overwrite", action="store_true", help="replace the files of an earlier corpus")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..training.toy_corpus import corpus_files, make_toy_corpus

    files = corpus_files(args.out_dir, args.clips_per_sound)
    check_output_folder(args.out_dir, [(path, "the corpus") for path in files], [])
    existing = [path for path in files if path.exists()]
    if existing and not args.overwrite:
        raise OutputPathError(
            f"{existing[0]} exists ({len(existing)} of the corpus's files do): pass --overwrite to replace them"
        )
    for path in make_toy_corpus(args.out_dir, args.clips_per_sound, args.seconds):
        print(f"wrote {path}")
    return 0
