"""Aggregating per-item scores: mean, median, std and counts, with undefined (NaN) items left out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Summary:
    """Statistics of the defined items of a metric; ``n_nan`` items were undefined (e.g. silent references)."""

    mean: float
    median: float
    std: float  # population std (ddof=0)
    n: int
    n_nan: int


def summarize(values) -> Summary:
    """Summarize per-item scores ``(N,)``; NaN items are counted in ``n_nan`` and left out of the statistics."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    defined = values[~np.isnan(values)]
    if defined.size == 0:
        return Summary(float("nan"), float("nan"), float("nan"), 0, int(values.size))
    return Summary(
        mean=float(defined.mean()),
        median=float(np.median(defined)),
        std=float(defined.std()),
        n=int(defined.size),
        n_nan=int(values.size - defined.size),
    )
