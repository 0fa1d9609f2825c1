"""The BigVGAN / AudioLDM log-mel front end and the STFT it is built on.

The mel matches :func:`bigvgan.meldataset.mel_spectrogram` (reflect padding by ``(n_fft - hop) / 2``,
``center=False``, magnitude ``sqrt(re^2 + im^2 + 1e-9)``, librosa's Slaney mel filters, ``log(clamp(x, 1e-5))``)
so that released BigVGAN vocoders work on it. A signal of ``k * hop_length`` samples gives exactly ``k`` frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class MelConfig:
    """Front-end settings. Defaults are FlowSep's: 16 kHz, 64 bands, hop 160 (100 frames per second)."""

    sample_rate: int = 16000
    n_fft: int = 1024
    hop_length: int = 160
    win_length: int = 1024
    n_mels: int = 64
    fmin: float = 0.0
    fmax: float = 8000.0
    log_floor: float = 1e-5


@lru_cache(maxsize=8)
def _mel_basis_cpu(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> torch.Tensor:
    from librosa.filters import mel as librosa_mel

    basis = librosa_mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    return torch.from_numpy(basis).float()  # (n_mels, n_fft // 2 + 1)


def mel_basis(config: MelConfig, device: torch.device | str = "cpu") -> torch.Tensor:
    """Slaney mel filterbank, ``(n_mels, n_fft // 2 + 1)``."""
    return _mel_basis_cpu(config.sample_rate, config.n_fft, config.n_mels, config.fmin, config.fmax).to(
        device
    )


def stft(wave: torch.Tensor, config: MelConfig) -> torch.Tensor:
    """Complex STFT with BigVGAN's framing: ``(B, T) -> (B, n_fft // 2 + 1, T // hop_length)``."""
    padding = (config.n_fft - config.hop_length) // 2
    padded = F.pad(wave.unsqueeze(1), (padding, padding), mode="reflect").squeeze(1)
    window = torch.hann_window(config.win_length, device=wave.device, dtype=wave.dtype)
    return torch.stft(
        padded,
        config.n_fft,
        hop_length=config.hop_length,
        win_length=config.win_length,
        window=window,
        center=False,
        normalized=False,
        onesided=True,
        return_complex=True,
    )


def mel_from_magnitude(magnitude: torch.Tensor, config: MelConfig) -> torch.Tensor:
    """Linear-magnitude spectrogram ``(B, bins, frames)`` -> log-mel ``(B, n_mels, frames)``."""
    mel = torch.matmul(mel_basis(config, magnitude.device).to(magnitude.dtype), magnitude)
    return torch.log(torch.clamp(mel, min=config.log_floor))


def log_mel_spectrogram(wave: torch.Tensor, config: MelConfig = MelConfig()) -> torch.Tensor:
    """Waveform ``(B, T)`` or ``(T,)`` in [-1, 1] -> log-mel ``(B, n_mels, T // hop_length)``."""
    wave = wave.float()
    if wave.dim() == 1:
        wave = wave.unsqueeze(0)
    spec = torch.view_as_real(stft(wave, config))
    magnitude = torch.sqrt(spec.pow(2).sum(-1) + 1e-9)  # (B, bins, frames)
    return mel_from_magnitude(magnitude, config)
