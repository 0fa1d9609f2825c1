"""The ``flowsep`` command: one sub-command per module in :mod:`flowsep.commands`.

Each command module exposes ``register(subparsers)``, which adds its parser and sets ``func`` to a function
taking the parsed arguments and returning an exit code. Only the command being run is imported (the others
appear in ``flowsep --help`` by their one-line summary), and command modules import torch and the models inside
``run``, so help and flag errors answer at once. Errors that flowsep raises on purpose (a bad flag, input or
output path) print one line and exit with code 2; Ctrl-C prints one line and exits with code 130.
``python -m flowsep.cli COMMAND ...`` is the same command, for ``accelerate launch -m flowsep.cli COMMAND ...``.
"""

from __future__ import annotations

import importlib
import sys

from .commands.options import CommandParser
from .errors import FlowSepError

# name -> one-line summary (the full parser of a command is built only when that command runs)
COMMANDS = {
    "separate": "separate the sound a text query describes from a mixture",
    "separate-batch": "separate every file of a folder or manifest",
    "demo": "separate the bundled example mixture with the default model",
    "evaluate": "score a model on built benchmarks (FAD, CLAPScore, SI-SDR ...)",
    "build-benchmark": "build a fixed, seeded benchmark of mixtures from a local dataset copy",
    "build-manifest": "write a clip manifest (JSONL/CSV) from a local dataset copy",
    "toy-corpus": "write a small corpus of synthetic sounds and its manifests, for smoke runs",
    "train": "train a stage (vae, flow, vocoder) or assemble a pipeline",
    "convert": "convert a checkpoint trained elsewhere into a flowsep model",
    "app": "serve a local web page that separates uploaded mixtures",
    "queries": "list the sounds and wordings a model was trained on",
}


def module_of(command: str) -> str:
    return f"flowsep.commands.{command.replace('-', '_')}"


def build_parser(command: str | None = None) -> CommandParser:
    """The parser of every command (``command=None``), or of ``command`` only (none for ``""``), the others as
    one-line summaries."""
    parser = CommandParser(prog="flowsep", description="Language-queried audio source separation.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, summary in COMMANDS.items():
        if command is None or name == command:
            importlib.import_module(module_of(name)).register(subparsers)
        else:
            subparsers.add_parser(name, help=summary, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    named = next((arg for arg in argv if not arg.startswith("-")), None)
    command = "flowsep"
    try:
        args = build_parser(named if named in COMMANDS else "").parse_args(argv)
        command = f"flowsep {args.command}"
        return int(args.func(args) or 0)
    except FlowSepError as error:
        print(f"{command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\n{command}: interrupted; finished outputs are kept, none is half-written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
