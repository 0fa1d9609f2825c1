"""CLAPScore (text-audio) and CLAPScore_A (audio-audio): CLAP embedding cosines x 100, in [-100, 100].

CLAPScore compares each separated clip with its text query; CLAPScore_A compares it with the reference source.
Both use transformers' ``ClapModel`` + ``ClapProcessor`` (a hub id or a local ``save_pretrained`` folder; default
:data:`DEFAULT_CLAP_CHECKPOINT`). Scores from different CLAP checkpoints are not comparable, so every
:class:`CLAPResult` records its checkpoint. Audio is resampled to the model's rate (48 kHz for LAION's CLAP).
Clips longer than the model's window (10 s) are cropped at random by the feature extractor; a fixed seed per clip
makes the crop, and so the score, reproducible.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..audio import AudioSource, load_audio
from ..choices import DEFAULT_CLAP_CHECKPOINT
from ..errors import AudioInputError, CheckpointError, QueryError
from .summary import Summary, summarize


@dataclass
class CLAPResult:
    """Per-item scores ``(N,)`` of ``metric`` (``"clap_score"`` or ``"clap_score_a"``), their summary, and the
    CLAP checkpoint that produced them."""

    scores: np.ndarray
    summary: Summary
    metric: str
    checkpoint: str


def _pooled(output) -> torch.Tensor:
    """Projected features ``(B, D)`` from ``get_*_features`` (a tensor in transformers 4, an output object in 5)."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


class CLAPScorer:
    """Embeds text and audio with a CLAP model and scores their cosine similarity x 100.

    Args:
        checkpoint: hub id or local folder holding a ``ClapModel`` and its ``ClapProcessor``.
        device: where the model runs.
        batch_size: clips or texts per forward pass.
        seed: seeds the feature extractor's random crop of long clips, per clip.
    """

    def __init__(
        self,
        checkpoint: str | os.PathLike = DEFAULT_CLAP_CHECKPOINT,
        device: str | torch.device = "cpu",
        batch_size: int = 16,
        seed: int = 0,
    ):
        from transformers import ClapModel, ClapProcessor  # here: importing flowsep.metrics stays light

        try:
            self.processor = ClapProcessor.from_pretrained(checkpoint)
            self.model = ClapModel.from_pretrained(checkpoint).to(device).eval()
        except (OSError, ValueError) as error:
            raise CheckpointError(
                f"cannot load CLAP checkpoint {str(checkpoint)!r}: it is neither a local save_pretrained folder nor "
                f"in the Hugging Face cache, and could not be downloaded (offline?). Download it once with "
                f"network access, or pass a local folder. Cause: {error}"
            ) from error
        self.checkpoint = str(checkpoint)
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.seed = seed
        self.sample_rate = self.processor.feature_extractor.sampling_rate

    def _features(self, wave: np.ndarray) -> dict[str, torch.Tensor]:
        """Feature-extractor output for one clip ``(T,)`` at the model's rate, with a reproducible crop."""
        state = np.random.get_state()
        np.random.seed(self.seed)
        try:
            return self.processor.feature_extractor(wave, sampling_rate=self.sample_rate, return_tensors="pt")
        finally:
            np.random.set_state(state)

    @torch.no_grad()
    def embed_audio(self, audios: Sequence[AudioSource], sample_rate: int | None = None) -> torch.Tensor:
        """Unit-norm audio embeddings ``(N, D)`` of clips given as paths, arrays or tensors (``(N, T)`` works too)."""
        features = [
            self._features(load_audio(clip, sample_rate, self.sample_rate, name=f"clip {i}").numpy())
            for i, clip in enumerate(audios)
        ]
        if not features:
            raise AudioInputError("no audio clips to embed")
        embeddings = []
        for start in range(0, len(features), self.batch_size):
            chunk = features[start : start + self.batch_size]
            batch = {
                key: torch.cat([f[key] for f in chunk]).to(self.device) for key in chunk[0]
            }  # (B, C, T, F)
            embeddings.append(F.normalize(_pooled(self.model.get_audio_features(**batch)), dim=-1).cpu())
        return torch.cat(embeddings)

    @torch.no_grad()
    def embed_text(self, texts: Sequence[str]) -> torch.Tensor:
        """Unit-norm text embeddings ``(N, D)``; texts beyond the tokenizer's length are truncated."""
        texts = list(texts)
        if not texts or any(not isinstance(text, str) or not text.strip() for text in texts):
            raise QueryError("CLAPScore needs a non-empty text for every clip")
        embeddings = []
        for start in range(0, len(texts), self.batch_size):
            tokens = self.processor.tokenizer(
                texts[start : start + self.batch_size], padding=True, truncation=True, return_tensors="pt"
            )
            output = self.model.get_text_features(
                input_ids=tokens["input_ids"].to(self.device),
                attention_mask=tokens["attention_mask"].to(self.device),
            )
            embeddings.append(F.normalize(_pooled(output), dim=-1).cpu())
        return torch.cat(embeddings)

    def _result(self, a: torch.Tensor, b: torch.Tensor, metric: str) -> CLAPResult:
        scores = (100.0 * (a * b).sum(dim=-1)).double().numpy()  # (N,)
        return CLAPResult(scores=scores, summary=summarize(scores), metric=metric, checkpoint=self.checkpoint)

    def clap_score(
        self, audios: Sequence[AudioSource], texts: Sequence[str], sample_rate: int | None = None
    ) -> CLAPResult:
        """CLAPScore: 100 x cosine between each clip and its text query."""
        if len(audios) != len(texts):
            raise QueryError(f"got {len(audios)} clips but {len(texts)} texts")
        return self._result(self.embed_audio(audios, sample_rate), self.embed_text(texts), "clap_score")

    def clap_score_a(
        self,
        estimates: Sequence[AudioSource],
        references: Sequence[AudioSource],
        sample_rate: int | None = None,
    ) -> CLAPResult:
        """CLAPScore_A: 100 x cosine between each separated clip and its reference source."""
        if len(estimates) != len(references):
            raise AudioInputError(f"got {len(estimates)} estimates but {len(references)} references")
        return self._result(
            self.embed_audio(estimates, sample_rate),
            self.embed_audio(references, sample_rate),
            "clap_score_a",
        )
