"""Evaluation metrics: SI-SDR/SDR and their improvements, FAD, CLAPScore and CLAPScore_A.

Each works alone; heavy dependencies (transformers' CLAP, the frechet-audio-distance package) load on first use.
"""

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

__all__ = [
    "DEFAULT_CLAP_CHECKPOINT",
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
