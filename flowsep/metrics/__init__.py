"""Evaluation metrics: SI-SDR/SDR and their improvements, FAD, CLAPScore and CLAPScore_A.

Each works alone; heavy dependencies (transformers' CLAP, the frechet-audio-distance package) load on first use.
"""

from ..choices import METRICS
from .clap import DEFAULT_CLAP_CHECKPOINT, CLAPResult, CLAPScorer
from .fad import (
    FADResult,
    FrechetAudioDistance,
    embedding_statistics,
    frechet_distance,
    frechet_distance_from_embeddings,
)
from .separation import (
    SDR_CEILING_DB,
    SILENCE_POWER,
    SeparationScores,
    evaluate_separation,
    is_silent,
    sdr,
    sdr_improvement,
    si_sdr,
    si_sdr_improvement,
)
from .summary import Summary, summarize

ITEM_COLUMNS = {  # the per-item columns each metric of an evaluation run (one of METRICS) fills
    "sisdr": ("si_sdr", "si_sdri", "sdr", "sdri"),
    "clap": ("clap_score", "clap_score_a"),  # against the query, and against the reference
    "fad": (),  # one value per set of estimates
}

__all__ = [
    "DEFAULT_CLAP_CHECKPOINT",
    "ITEM_COLUMNS",
    "METRICS",
    "SDR_CEILING_DB",
    "SILENCE_POWER",
    "CLAPResult",
    "CLAPScorer",
    "FADResult",
    "FrechetAudioDistance",
    "SeparationScores",
    "Summary",
    "embedding_statistics",
    "evaluate_separation",
    "frechet_distance",
    "frechet_distance_from_embeddings",
    "is_silent",
    "sdr",
    "sdr_improvement",
    "si_sdr",
    "si_sdr_improvement",
    "summarize",
]
