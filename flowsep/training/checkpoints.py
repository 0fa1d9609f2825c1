"""Checkpoint folders of a run: ``OUTPUT_DIR/checkpoints/checkpoint-STEP`` written by ``accelerator.save_state``."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import RecipeError

PREFIX = "checkpoint-"


def list_checkpoints(folder: str | Path) -> list[Path]:
    """Checkpoint folders sorted by step, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [
        p
        for p in folder.iterdir()
        if p.is_dir() and p.name.startswith(PREFIX) and p.name[len(PREFIX) :].isdigit()
    ]
    return sorted(found, key=lambda p: int(p.name[len(PREFIX) :]))


def find_checkpoint(folder: str | Path, resume: str) -> Path | None:
    """``resume="latest"``: the newest checkpoint in ``folder`` or None; otherwise the given folder, which must exist."""
    if resume == "latest":
        found = list_checkpoints(folder)
        return found[-1] if found else None
    path = Path(resume)
    if not path.is_dir():
        raise RecipeError(f"resume: no checkpoint folder at {path}")
    return path


def prune_checkpoints(folder: str | Path, keep: int):
    """Delete all but the ``keep`` newest checkpoints."""
    for path in list_checkpoints(folder)[:-keep]:
        shutil.rmtree(path, ignore_errors=True)
