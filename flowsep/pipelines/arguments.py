"""Checks of keyword arguments: one [`UsageError`] naming the argument, before any work is done."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import UsageError


def require_choice(name: str, value, choices: Sequence) -> None:
    """``value`` must be one of ``choices``."""
    if value not in choices:
        raise UsageError(f"unknown {name} {value!r}: choose one of {tuple(choices)}")


def require_int(name: str, value, least: int, most: int | None = None) -> None:
    """``value`` must be an integer (not a bool) in ``[least, most]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{name} must be an integer, got {value!r}")
    if value < least:
        raise UsageError(f"{name} must be >= {least}, got {value}")
    if most is not None and value > most:
        raise UsageError(f"{name} must be at most {most}, got {value}")


def require_number(name: str, value, least: float | None = None) -> None:
    """``value`` must be ``None`` or a finite real number, at least ``least`` when given."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number, got {value!r}")
    if least is not None and value < least:
        raise UsageError(f"{name} must be >= {least}, got {value}")
