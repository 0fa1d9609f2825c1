"""Mixing two clips into a benchmark item: fixed-length segments, levels (an SNR, or a loudness per source), and
a peak limit that scales all parts together (so it keeps the SNR). Training mixtures are made on the fly by
:class:`flowsep.data.MixtureDataset` instead.

Segments are cut deterministically: the first ``segment_seconds`` of a clip, zero-padded at the end when shorter
(:func:`flowsep.data.load_segment` without a generator). Powers, SNRs and loudness are measured on these
segments, padding included, as they are written.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache

import torch

from ..audio import normalize_loudness, scale_to_snr, snr_db
from ..data.datasets import load_segment
from ..data.manifest import ClipRecord
from ..errors import AudioInputError
from .benchmark import quantize_pcm16

PEAK_LIMIT = 0.9  # as in the DCASE 2024 Task 9 evaluator: a louder mixture is scaled down with its parts


@dataclass(frozen=True)
class Levels:
    """How a mixture's two sources are levelled: ``snr_db`` (the target keeps its own level and the interferer is
    scaled), or a loudness in LUFS for each source (``target_lufs`` and ``interference_lufs``)."""

    snr_db: float | None = None
    target_lufs: float | None = None
    interference_lufs: float | None = None

    def __post_init__(self):
        by_loudness = self.target_lufs is not None and self.interference_lufs is not None
        if (self.snr_db is None) == (not by_loudness):
            raise ValueError("give either snr_db, or both target_lufs and interference_lufs")


@dataclass(frozen=True)
class MixturePlan:
    """One item to build: ``target`` is the source to separate (described by ``query``), ``interferer`` the rest."""

    target: ClipRecord
    interferer: ClipRecord
    query: str
    levels: Levels


class ClipLoader:
    """Mono segments of clips at ``sample_rate``, the most recent ``cache_size`` kept in memory.

    Args:
        sample_rate: the rate clips are resampled to.
        segment_seconds: the segment length (the clip's start, zero-padded); ``None`` keeps whole clips.
        cache_size: segments kept in memory (a 10 s segment at 16 kHz takes 640 kB).
    """

    def __init__(self, sample_rate: int, segment_seconds: float | None, cache_size: int = 256):
        self.sample_rate = sample_rate
        self.segment_samples = None if segment_seconds is None else round(segment_seconds * sample_rate)
        self._read = lru_cache(maxsize=cache_size)(self._read_uncached)

    def _read_uncached(self, path: str) -> torch.Tensor | AudioInputError:
        try:
            return load_segment(path, self.sample_rate, self.segment_samples)  # (T,)
        except AudioInputError as error:
            return error

    def segment(self, record: ClipRecord) -> torch.Tensor | None:
        """The clip's segment ``(T,)``, or ``None`` when it is unreadable or silent."""
        wave = self._read(os.fspath(record.audio))
        return None if isinstance(wave, AudioInputError) else wave

    def require(self, record: ClipRecord) -> torch.Tensor:
        """The clip's segment ``(T,)``; raises :class:`AudioInputError` when it is unreadable or silent."""
        wave = self._read(os.fspath(record.audio))
        if isinstance(wave, AudioInputError):
            raise AudioInputError(f"clip {record.id!r}: {wave}")
        return wave


def mix(
    target: torch.Tensor, interferer: torch.Tensor, levels: Levels, sample_rate: int
) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """Level two segments ``(T,)`` and mix them.

    Returns:
        ``waves``: ``mixture``, ``reference`` and ``interference``, each ``(T,)`` on the 16-bit grid, with
        ``mixture == reference + interference`` exactly; ``fields``: ``snr_db`` (the asked SNR, or the measured
        one when levelled by loudness), the loudness asked for each source, and ``gain_db`` (the peak limit's
        gain, 0 when the mixture peaks below :data:`PEAK_LIMIT`).
    """
    if target.shape != interferer.shape:
        raise AudioInputError(f"cannot mix segments of {target.shape[-1]} and {interferer.shape[-1]} samples")
    if levels.snr_db is not None:
        interference = scale_to_snr(target, interferer, levels.snr_db)
    else:
        target = normalize_loudness(target, sample_rate, levels.target_lufs)
        interference = normalize_loudness(interferer, sample_rate, levels.interference_lufs)
    peak = max(
        float((target + interference).abs().max()), float(target.abs().max()), float(interference.abs().max())
    )
    gain = min(1.0, PEAK_LIMIT / peak)
    reference, interference = quantize_pcm16(target * gain), quantize_pcm16(interference * gain)
    fields = {
        "snr_db": levels.snr_db if levels.snr_db is not None else float(snr_db(reference, interference))
    }
    if levels.snr_db is None:
        fields |= {"target_lufs": levels.target_lufs, "interference_lufs": levels.interference_lufs}
    fields["gain_db"] = 20.0 * math.log10(gain)
    waves = {"mixture": reference + interference, "reference": reference, "interference": interference}
    return waves, fields
