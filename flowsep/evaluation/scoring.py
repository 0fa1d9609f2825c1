"""The metrics of an evaluation run, chosen by name, built from :mod:`flowsep.metrics`.

=======  ==============================================  ====================================================
name     per item (columns)                              per set
=======  ==============================================  ====================================================
sisdr    ``si_sdr``, ``si_sdri``, ``sdr``, ``sdri`` (dB)  their means
clap     ``clap_score`` (vs the query), ``clap_score_a``  their means
         (vs the reference)
fad      -                                               ``fad``: estimates vs the benchmark's references
=======  ==============================================  ====================================================

The weights are loaded (and missing ones reported with :class:`~flowsep.errors.CheckpointError`) when the scorer
is built, before anything is separated: FAD embeds the references up front.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..audio import load_audio
from ..errors import UsageError
from ..metrics import (
    DEFAULT_CLAP_CHECKPOINT,
    ITEM_COLUMNS,
    METRICS,
    CLAPScorer,
    FrechetAudioDistance,
    evaluate_separation,
)
from .benchmark import Benchmark, BenchmarkItem


@dataclass(frozen=True)
class MetricSettings:
    """Which metrics, with which weights.

    Args:
        metrics: names among :data:`flowsep.metrics.METRICS`.
        clap_checkpoint: the CLAP model (hub id or ``save_pretrained`` folder) of CLAPScore and CLAPScore_A.
        fad_backbone: the FAD embedding network (``vggish``, ``pann``, ``clap``, ``encodec``).
        fad_ckpt_dir: the folder holding the FAD backbone's weights (default: torch-hub's).
        device: where the metric models run.
        trim: score an estimate and a reference of other lengths on their shared part (else that is an error).
    """

    metrics: tuple[str, ...] = ("sisdr",)
    clap_checkpoint: str = DEFAULT_CLAP_CHECKPOINT
    fad_backbone: str = "vggish"
    fad_ckpt_dir: str | None = None
    device: str = "cpu"
    trim: bool = False

    def __post_init__(self):
        unknown = set(self.metrics) - set(METRICS)
        if unknown or not self.metrics:
            raise UsageError(f"unknown metrics {sorted(unknown)}: choose among {', '.join(METRICS)}")


class ItemScorer:
    """Scores one estimate at a time with the per-item metrics of ``settings`` (CLAP is loaded here)."""

    def __init__(self, settings: MetricSettings):
        self.settings = settings
        self.clap = None
        if "clap" in settings.metrics:
            self.clap = CLAPScorer(settings.clap_checkpoint, device=settings.device, batch_size=2)

    def columns(self, item: BenchmarkItem) -> list[str]:
        """The columns :meth:`score` fills for ``item``."""
        columns = [column for name in self.settings.metrics for column in ITEM_COLUMNS[name]]
        return columns if item.reference is not None else [c for c in columns if c != "clap_score_a"]

    def score(self, estimate: torch.Tensor, sample_rate: int, item: BenchmarkItem) -> dict[str, float]:
        """Metrics of an estimate ``(T,)`` of ``item``'s reference, at ``sample_rate``."""
        row: dict[str, float] = {}
        reference = None
        if item.reference is not None:
            reference = load_audio(item.reference, target_sample_rate=sample_rate)  # (T,)
        if "sisdr" in self.settings.metrics:
            mixture = load_audio(item.mixture, target_sample_rate=sample_rate)  # (T,)
            lengths = (len(estimate), len(reference), len(mixture))
            if (
                max(lengths) - min(lengths) > 1 and not self.settings.trim
            ):  # a sample apart: resampling's rounding
                raise UsageError(
                    f"{item.id}: estimate, reference and mixture have {lengths} samples: rebuild the benchmark, or "
                    "pass --trim to score their shared part"
                )
            length = min(lengths)
            scores = evaluate_separation(
                estimate[None, :length], reference[None, :length], mixture[None, :length]
            )
            row |= {name: float(values[0]) for name, values in scores.per_item.items()}
        if self.clap is not None:
            row["clap_score"] = float(self.clap.clap_score([estimate], [item.query], sample_rate).scores[0])
            if reference is not None:
                row["clap_score_a"] = float(
                    self.clap.clap_score_a([estimate], [reference], sample_rate).scores[0]
                )
        return row

    def checkpoints(self) -> dict[str, str]:
        """The weights behind the scores (values from other weights are not comparable)."""
        names = {}
        if self.clap is not None:
            names["clap"] = self.clap.checkpoint
        if "fad" in self.settings.metrics:
            names["fad"] = self.settings.fad_backbone
            names["fad_ckpt_dir"] = str(self.settings.fad_ckpt_dir or torch.hub.get_dir())
        return names


class SetScorer:
    """FAD of whole sets against each benchmark's references, with embeddings cached under ``cache_dir``.

    :meth:`prepare` embeds the references, so that missing weights are reported before any separation.
    """

    def __init__(self, settings: MetricSettings, cache_dir: str | os.PathLike):
        self.fad = FrechetAudioDistance(settings.fad_backbone, settings.fad_ckpt_dir)
        self.cache_dir = Path(cache_dir)

    def _cache(self, benchmark: Benchmark, system: str) -> Path:
        return self.cache_dir / f"{benchmark.name}.{system}.{self.fad.backbone}.n{len(benchmark.items)}.npy"

    def prepare(self, benchmark: Benchmark) -> np.ndarray:
        """Embeddings ``(rows, D)`` of the benchmark's references (computed once, then read from the cache)."""
        references = [item.reference for item in benchmark.items]
        return self.fad.embed(references, cache=self._cache(benchmark, "reference"))

    def fad_value(self, benchmark: Benchmark, system: str, estimates: Sequence[Path]) -> float:
        """FAD between the references and the estimates of ``system`` (files, in the benchmark's item order)."""
        result = self.fad.score(
            [item.reference for item in benchmark.items], list(estimates),
            reference_cache=self._cache(benchmark, "reference"), estimate_cache=self._cache(benchmark, system),
        )  # fmt: skip
        return result.value
