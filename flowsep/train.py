"""``python -m flowsep.train RECIPE.yaml ...``: an alias of ``flowsep train`` (see :mod:`flowsep.commands.train`),
kept for ``accelerate launch -m flowsep.train``."""

from __future__ import annotations

import sys

from .cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    return cli_main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
