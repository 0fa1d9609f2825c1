"""The BigVGAN / AudioLDM log-mel front end and the STFT it is built on.

Two framings (``MelConfig.framing``), both with librosa's Slaney mel filters and ``log(clamp(x, 1e-5))``:

* ``"bigvgan"`` matches :func:`bigvgan.meldataset.mel_spectrogram`: reflect padding by ``(n_fft - hop) / 2``,
  ``center=False``, magnitude ``sqrt(re^2 + im^2 + 1e-9)``; frame ``k`` is centred on sample ``k * hop + hop / 2``.
* ``"tacotron"`` matches the TacotronSTFT front end of AudioLDM and of the official FlowSep inference: reflect
  padding by ``n_fft / 2`` (librosa's ``center=True``), magnitude ``sqrt(re^2 + im^2)``; frame ``k`` is centred on
  sample ``k * hop``, half a hop earlier, and the extra last frame is dropped.

A signal of ``k * hop_length`` samples gives exactly ``k`` frames in either framing.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

from .mel_config import FRAMINGS, MelConfig  # noqa: F401 (defined apart, so that recipes load without torch)


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
    """Complex STFT in the config's framing: ``(B, T) -> (B, n_fft // 2 + 1, T // hop_length)``."""
    tacotron = config.framing == "tacotron"
    padding = config.n_fft // 2 if tacotron else (config.n_fft - config.hop_length) // 2
    padded = F.pad(wave.unsqueeze(1), (padding, padding), mode="reflect").squeeze(1)
    window = torch.hann_window(config.win_length, device=wave.device, dtype=wave.dtype)
    spec = torch.stft(
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
    return spec[..., : wave.shape[-1] // config.hop_length] if tacotron else spec


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
    floor = 0.0 if config.framing == "tacotron" else 1e-9
    magnitude = torch.sqrt(spec.pow(2).sum(-1) + floor)  # (B, bins, frames)
    return mel_from_magnitude(magnitude, config)
