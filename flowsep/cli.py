"""The ``flowsep`` command: one sub-command per module in :mod:`flowsep.commands`.

Each command module exposes ``register(subparsers)``, which adds its parser and sets ``func`` to a
function taking the parsed arguments and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import FlowSepError

COMMAND_MODULES = (
    "separate",
    "separate_batch",
    "demo",
    "evaluate",
    "train",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flowsep", description="Language-queried audio source separation.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"flowsep.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except FlowSepError as error:
        print(f"flowsep {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
