"""``flowsep queries``: the classes and caption families a model was trained on (its ``queries.json``), and the
instruction forms every query may take. Light: reads JSON only, loads no model."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError

FORMS = (
    ("a dog barking", "extract the sound as described (a plain noun phrase)"),
    ("isolate / extract / keep only / only X", "extract X"),
    ("remove / without / no / minus X", "remove X: the output is everything else"),
    ("everything but / everything except X", "remove X"),
    ("X without Y (or --exclude Y)", "extract X, then take Y out of it"),
)


def register(subparsers):
    parser = subparsers.add_parser("queries", help="list the sounds and wordings a model was trained on")
    parser.add_argument("--model", default=None, help="model folder (default: the shipped flowsep-mini)")
    parser.add_argument("--all", action="store_true", help="every caption, not the first four per class")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..loading import check_model_source, default_model
    from ..queries import QUERIES_FILE, known_queries

    model = args.model or default_model()
    if not check_model_source(model):
        raise UsageError(f"--model {model}: a hub id; flowsep queries reads a local model folder")
    known = known_queries(model)
    if known is None:
        raise UsageError(f"{model} records no training queries (no valid {QUERIES_FILE}): see its model card")
    classes = known.get("classes", [])
    print(f"{Path(model).name}: {len(classes)} classes. {known.get('about', '')}".strip())
    for entry in classes:
        captions = entry.get("captions", [])
        shown = captions if args.all else captions[:4]
        more = f" (+{len(captions) - len(shown)} more)" if len(captions) > len(shown) else ""
        print(f"  {entry['label']}: " + "; ".join(shown) + more)
        for family, wordings in entry.get("families", {}).items():
            print(f"    {family}: " + "; ".join(wordings if args.all else wordings[:3]))
        if args.all:
            for subject, phrases in entry.get("subjects", {}).items():
                print(f"    {subject}: " + "; ".join(phrases))
    print("Every query may be an instruction:")
    for form, meaning in FORMS:
        print(f"  {form:40s} {meaning}")
    return 0
