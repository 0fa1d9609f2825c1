"""The ``flowsep`` command: one sub-command per module in :mod:`flowsep.commands`.

Each command module exposes ``register(subparsers)``, which adds its parser and sets ``func`` to a function
taking the parsed arguments and returning an exit code. Errors that flowsep raises on purpose (a bad flag,
input or output path) print one line and exit with code 2. ``python -m flowsep.cli COMMAND ...`` is the same
command, for ``accelerate launch -m flowsep.cli COMMAND ...``.
"""

from __future__ import annotations

import importlib
import sys

from .commands.options import CommandParser
from .errors import FlowSepError

COMMAND_MODULES = (
    "separate",
    "separate_batch",
    "demo",
    "evaluate",
    "build_benchmark",
    "build_manifest",
    "toy_corpus",
    "train",
    "convert",
)


def build_parser() -> CommandParser:
    parser = CommandParser(prog="flowsep", description="Language-queried audio source separation.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"flowsep.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    command = "flowsep"
    try:
        args = build_parser().parse_args(argv)
        command = f"flowsep {args.command}"
        return int(args.func(args) or 0)
    except FlowSepError as error:
        print(f"{command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
