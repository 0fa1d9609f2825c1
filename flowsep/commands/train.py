"""``flowsep train RECIPE.yaml``: run one training stage (vae, flow, vocoder) or assemble a pipeline.

::

    flowsep train recipes/mini-mel/flow.yaml [--output-dir DIR] [--max-steps N] [--resume latest|CHECKPOINT_DIR]
        [--set key.sub=value ...]
    accelerate launch -m flowsep.cli train recipes/paper/flow.yaml ...    # several processes or GPUs

Without a GPU, ``accelerate launch --multi_gpu --num_processes N`` runs N CPU processes over gloo.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .options import non_negative_int


def register(subparsers):
    parser = subparsers.add_parser("train", help="train a stage (vae, flow, vocoder) or assemble a pipeline")
    add_arguments(parser)
    parser.set_defaults(func=run)


def add_arguments(parser: argparse.ArgumentParser):
    """The arguments of ``flowsep train``."""
    parser.add_argument("recipe", help="YAML recipe (see recipes/)")
    parser.add_argument("--output-dir", help="overrides output_dir")
    parser.add_argument("--max-steps", type=non_negative_int, help="overrides trainer.max_steps (0: none)")
    parser.add_argument("--resume", help="'latest' or a checkpoint folder; overrides resume")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override any recipe key, e.g. --set trainer.learning_rate=1e-4 (repeatable; values are YAML)",
    )  # fmt: skip


def overrides_from_args(args: argparse.Namespace) -> dict:
    """Dotted recipe overrides from the parsed flags (``--set`` first, the named flags win)."""
    from ..training.recipe import parse_override

    overrides = dict(parse_override(text) for text in args.overrides)
    named = {"output_dir": args.output_dir, "trainer.max_steps": args.max_steps, "resume": args.resume}
    overrides.update({key: value for key, value in named.items() if value is not None})
    return overrides


def run_recipe(recipe) -> Path:
    """Run the recipe's stage; returns its output folder."""
    from accelerate import PartialState

    from ..training import STAGE_TASKS, Trainer
    from ..training.assemble import assemble

    if recipe.stage == "assemble":
        state = PartialState()
        if state.is_main_process:
            assemble(recipe)
        state.wait_for_everyone()
        return Path(recipe.output_dir)
    return Trainer(recipe, STAGE_TASKS[recipe.stage](recipe)).train()


def run(args: argparse.Namespace) -> int:
    from ..training.recipe import check_recipe_inputs, load_recipe

    recipe = load_recipe(
        args.recipe, overrides_from_args(args)
    )  # every key and value, before torch is imported
    check_recipe_inputs(recipe)
    output = run_recipe(recipe)
    print(f"wrote {output}")
    return 0
