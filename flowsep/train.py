"""Run one training stage from a recipe.

::

    accelerate launch -m flowsep.train recipes/paper/flow.yaml [--output-dir DIR] [--max-steps N]
        [--resume latest|CHECKPOINT_DIR] [--set key.sub=value ...]
    python -m flowsep.train RECIPE.yaml ...          # one process
    flowsep train RECIPE.yaml ...                    # the same, from the command line tool

Without a GPU, ``accelerate launch --multi_gpu --num_processes N`` runs N CPU processes over gloo.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import FlowSepError


def add_arguments(parser: argparse.ArgumentParser):
    """The command-line interface shared by ``python -m flowsep.train`` and ``flowsep train``."""
    parser.add_argument("recipe", help="YAML recipe (see recipes/)")
    parser.add_argument("--output-dir", help="overrides output_dir")
    parser.add_argument("--max-steps", type=int, help="overrides trainer.max_steps")
    parser.add_argument("--resume", help="'latest' or a checkpoint folder; overrides resume")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override any recipe key, e.g. --set trainer.learning_rate=1e-4 (repeatable; values are YAML)",
    )  # fmt: skip


def overrides_from_args(args: argparse.Namespace) -> dict:
    """Dotted recipe overrides from the parsed flags (``--set`` first, the named flags win)."""
    from .training.recipe import parse_override

    overrides = dict(parse_override(text) for text in args.overrides)
    named = {"output_dir": args.output_dir, "trainer.max_steps": args.max_steps, "resume": args.resume}
    overrides.update({key: value for key, value in named.items() if value is not None})
    return overrides


def run(recipe) -> Path:
    """Run the recipe's stage; returns its output folder."""
    from accelerate import PartialState

    from .training import STAGE_TASKS, Trainer, assemble

    if recipe.stage == "assemble":
        state = PartialState()
        if state.is_main_process:
            assemble(recipe)
        state.wait_for_everyone()
        return Path(recipe.output_dir)
    return Trainer(recipe, STAGE_TASKS[recipe.stage](recipe)).train()


def run_from_args(args: argparse.Namespace) -> int:
    from .training.recipe import load_recipe

    output = run(load_recipe(args.recipe, overrides_from_args(args)))
    print(f"wrote {output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flowsep.train", description=__doc__.split("\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_from_args(args)
    except FlowSepError as error:
        print(f"flowsep train: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
