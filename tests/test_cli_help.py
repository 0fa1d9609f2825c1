"""Every command's ``--help`` pinned word for word, and each option's default, type (with its range), choices
and count (tests/data/cli_help.json): what a user reads and what the parser applies change only on purpose.

After a deliberate change: ``python tests/test_cli_help.py`` rewrites the file; review its diff.
"""

import json
import os
import sys
from pathlib import Path

from flowsep.cli import COMMANDS, build_parser

PINNED = Path(__file__).parent / "data" / "cli_help.json"
WIDTH = "100"  # argparse wraps at the terminal's width: pinned at 100 columns


def command_parser(name: str):
    parser = build_parser(name)
    subparsers = next(action for action in parser._actions if hasattr(action, "choices") and action.choices)
    return subparsers.choices[name]


def arguments(parser) -> list[dict]:
    """Each option of ``parser``: its names, destination, default, type, choices, count and whether required."""
    return [
        {"flags": action.option_strings, "dest": action.dest, "default": repr(action.default),
         "type": getattr(action.type, "__name__", repr(action.type)), "choices": repr(action.choices),
         "nargs": repr(action.nargs), "required": action.required, "action": type(action).__name__}
        for action in parser._actions
    ]  # fmt: skip


def pins() -> dict:
    """``{"help": {command: text}, "arguments": {command: [...]}}``; ``""`` is ``flowsep --help``."""
    return {
        "help": {"": build_parser("").format_help()}
        | {name: command_parser(name).format_help() for name in COMMANDS},
        "arguments": {name: arguments(command_parser(name)) for name in COMMANDS},
    }


def test_every_commands_help_and_options_are_the_pinned_ones(monkeypatch):
    monkeypatch.setenv("COLUMNS", WIDTH)
    found, pinned = pins(), json.loads(PINNED.read_text(encoding="utf-8"))
    for part in ("help", "arguments"):
        assert sorted(found[part]) == sorted(pinned[part]), (
            "commands changed: rerun python tests/test_cli_help.py"
        )
        for name, value in found[part].items():
            assert value == pinned[part][name], (
                f"flowsep {name}: {part} changed: rerun python tests/test_cli_help.py"
            )


if __name__ == "__main__":
    os.environ["COLUMNS"] = WIDTH
    PINNED.write_text(json.dumps(pins(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {PINNED}\n")
