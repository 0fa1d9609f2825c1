"""Augmentations of training clips.

Band-limiting at random keeps a source's bandwidth from giving its class away: the corpus mixes full-band
recordings with sources that were sampled at 11-22 kHz, so without it "no energy above 5 kHz" would
identify those classes. Real recordings come in every bandwidth too.
"""

from __future__ import annotations

import numpy as np
import torch

ROLL_OFF_HZ = 250.0  # width of the raised-cosine transition above the cutoff


def band_limit(wave: torch.Tensor, cutoff_hz: float | torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Zero-phase low-pass of ``(..., T)``: unity up to ``cutoff_hz`` (a number, or a tensor that broadcasts
    against ``(..., 1)``, e.g. one cutoff per row), a raised-cosine roll-off over ``ROLL_OFF_HZ``, zero above."""
    spectrum = torch.fft.rfft(wave.double(), dim=-1)
    freqs = torch.fft.rfftfreq(wave.shape[-1], 1.0 / sample_rate, dtype=torch.float64, device=wave.device)
    position = ((freqs - cutoff_hz) / ROLL_OFF_HZ).clamp(0.0, 1.0)
    gain = 0.5 * (1.0 + torch.cos(torch.pi * position))  # 1 below the cutoff, 0 above cutoff + roll-off
    return torch.fft.irfft(spectrum * gain, n=wave.shape[-1], dim=-1).to(wave.dtype)


def random_band_limit(
    wave: torch.Tensor, rng: np.random.Generator, probability: float, cutoff_range: tuple[float, float],
    sample_rate: int,
) -> torch.Tensor:  # fmt: skip
    """With ``probability``, :func:`band_limit` at a cutoff drawn uniformly from ``cutoff_range``; draws
    nothing from ``rng`` when ``probability`` is 0, so that existing mixtures stay as they were."""
    if probability <= 0.0 or rng.random() >= probability:
        return wave
    return band_limit(wave, float(rng.uniform(*cutoff_range)), sample_rate)
