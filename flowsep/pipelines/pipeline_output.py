"""Output of :class:`~flowsep.pipelines.FlowSepPipeline`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from diffusers.utils import BaseOutput


@dataclass
class FlowSepPipelineOutput(BaseOutput):
    """
    Args:
        audios: separated targets, ``(batch, samples)`` at ``sample_rate`` (``output_type="np"`` or ``"pt"``);
            target latents ``(batch, C, T, F)`` for ``"latent"``; target log-mels ``(batch, n_mels, frames)``
            for ``"mel"``.
        residuals: ``mixture - target`` per item, ``(batch, samples)``, when ``return_residual=True``.
        sample_rate: rate of ``audios`` and ``residuals``.
        nfe: network evaluations per window (solver steps x evaluations per step x CFG passes).
        operation: what was done per item, e.g. ``["remove 'noise'", "extract 'speech' without 'music'"]``.
        rest: with ``joint=True``, what no query claimed: the mixture minus every extracted sound, ``(samples,)``
            or ``(channels, samples)``.
        spans: with ``return_spans=True``, per item the ``(start, end)`` seconds where the output is active.
    """

    audios: np.ndarray | torch.Tensor
    residuals: np.ndarray | torch.Tensor | None = None
    sample_rate: int = 16000
    nfe: int = 0
    operation: list[str] | None = None
    rest: np.ndarray | torch.Tensor | None = None
    spans: list[list[tuple[float, float]]] | None = None
