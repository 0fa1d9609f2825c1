"""``python -m flowsep.evaluation.build KIND SOURCE OUT ...``: an alias of ``flowsep build-benchmark`` (see
:mod:`flowsep.commands.build_benchmark`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..cli import main as cli_main


def main(argv: Sequence[str] | None = None) -> int:
    return cli_main(["build-benchmark", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
