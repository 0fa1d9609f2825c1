"""Where the separated sound is: time ranges where the target is louder than the rest of the mixture.

Per frame (``frame_seconds`` long, every ``hop_seconds``), the target-to-residual energy ratio in dB, summed over
channels and smoothed over ``smooth_seconds``; a frame is active when the ratio is above ``threshold_db`` and the
mixture is not silent there (within ``floor_db`` of its loudest frame). Active runs closer than ``min_gap``
seconds are joined, and runs shorter than ``min_duration`` seconds dropped. Light: numpy only.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

import numpy as np

SPAN_DEFAULTS = {"threshold_db": 0.0, "min_duration": 0.1, "min_gap": 0.25}


@dataclass(frozen=True)
class SpanOptions:
    """How spans are found (see the module's docstring); the defaults are :data:`SPAN_DEFAULTS`."""

    threshold_db: float = SPAN_DEFAULTS["threshold_db"]
    min_duration: float = SPAN_DEFAULTS["min_duration"]
    min_gap: float = SPAN_DEFAULTS["min_gap"]
    frame_seconds: float = 0.04
    hop_seconds: float = 0.01
    smooth_seconds: float = 0.05
    floor_db: float = 50.0


def frame_energy(wave: np.ndarray, sample_rate: int, frame: int, hop: int) -> np.ndarray:
    """Energy ``(F,)`` of frames of ``frame`` samples every ``hop`` of ``wave (C, S)`` or ``(S,)``, all channels."""
    power = np.square(np.asarray(wave, dtype=np.float64)).reshape(-1, np.shape(wave)[-1]).sum(0)
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    starts = np.arange(0, max(1, power.size - frame + hop), hop)
    ends = np.minimum(starts + frame, power.size)
    return cumulative[ends] - cumulative[starts]


def activity_ratio_db(target, residual, sample_rate: int, options: SpanOptions = SpanOptions()):
    """``(ratio_db (F,), active (F,) bool, hop_seconds)``: the smoothed target-to-residual ratio per frame."""
    frame = max(1, round(options.frame_seconds * sample_rate))
    hop = max(1, round(options.hop_seconds * sample_rate))
    target_energy = frame_energy(target, sample_rate, frame, hop)
    residual_energy = frame_energy(residual, sample_rate, frame, hop)
    taps = max(1, round(options.smooth_seconds / options.hop_seconds))
    kernel = np.ones(taps) / taps
    target_energy = np.convolve(target_energy, kernel, mode="same")
    residual_energy = np.convolve(residual_energy, kernel, mode="same")
    tiny = 1e-20
    ratio = 10 * np.log10((target_energy + tiny) / (residual_energy + tiny))
    total = target_energy + residual_energy
    loud = (
        total > total.max() * 10 ** (-options.floor_db / 10)
        if total.max() > 0
        else np.zeros_like(total, bool)
    )
    return ratio, (ratio > options.threshold_db) & loud, hop / sample_rate


def find_spans(
    target, residual, sample_rate: int, options: SpanOptions = SpanOptions()
) -> list[tuple[float, float]]:
    """Time ranges ``[(start, end), ...]`` in seconds where ``target`` is active against ``residual`` (both
    ``(C, S)`` or ``(S,)`` at ``sample_rate``), in order, at most the input's length."""
    _, active, hop_seconds = activity_ratio_db(target, residual, sample_rate, options)
    duration = np.shape(target)[-1] / sample_rate
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
    runs = [
        [start * hop_seconds, min(duration, end * hop_seconds)] for start, end in zip(edges[::2], edges[1::2])
    ]
    # frames are centred on start + frame / 2: shift the run edges by half the frame-hop difference
    shift = (options.frame_seconds - options.hop_seconds) / 2
    runs = [[max(0.0, start + shift), min(duration, end + shift)] for start, end in runs]
    joined: list[list[float]] = []
    for run in runs:
        if joined and run[0] - joined[-1][1] < options.min_gap:
            joined[-1][1] = run[1]
        else:
            joined.append(run)
    return [(round(float(s), 3), round(float(e), 3)) for s, e in joined if e - s >= options.min_duration]


def spans_json(spans: list[tuple[float, float]], query: str, operation: str, options: SpanOptions) -> str:
    """The spans of one output as JSON: the query, what was done, the options and ``[{"start", "end"}]``."""
    record = {
        "query": query, "operation": operation,
        "options": {key: getattr(options, key) for key in SPAN_DEFAULTS},
        "spans": [{"start": start, "end": end} for start, end in spans],
    }  # fmt: skip
    return json.dumps(record, indent=1)


def spans_csv(spans: list[tuple[float, float]]) -> str:
    """The spans of one output as CSV: ``start,end,duration`` in seconds."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["start", "end", "duration"])
    writer.writerows([start, end, round(end - start, 3)] for start, end in spans)
    return out.getvalue()
