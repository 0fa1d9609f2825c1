"""The audio codec, written once: wave -> level -> log-mel -> latent, and latent -> log-mel.

:class:`AudioCodec` owns the log-mel front end (:class:`~flowsep.spectrogram.MelConfig`, framing included), the
level every mixture is brought to (``normalization``: an RMS of ``reference_rms``, flowsep's, or the official
FlowSep's mean removal and peak of ``reference_peak``), the latent model's encode and decode (a scaled VAE latent:
its posterior's mode or a sample, or the normalised log-mel of :class:`~flowsep.models.mel_latent.LogMelLatent`),
and the arithmetic between samples, mel frames and latent frames. Each model folder records these settings
(``model_index.json``); the defaults are flowsep's own models'. :class:`~flowsep.FlowSepPipeline`, every training
stage and the evaluation scripts encode through it, so training encodes exactly as inference does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields

import torch
from diffusers import AutoencoderKL

from .audio import normalize_mixture, normalize_peak
from .models.mel_latent import LogMelLatent
from .spectrogram import MelConfig, log_mel_spectrogram
from .windowing import WindowPlan

# Front-end settings a pipeline keeps in model_index.json (the log floor is fixed by BigVGAN's front end)
MEL_KEYS = tuple(field.name for field in fields(MelConfig) if field.name != "log_floor")
NORMALIZATIONS = ("rms", "peak")
POSTERIORS = ("mode", "sample")
# The level and latent settings, with the defaults that folders written before they existed get
LEVEL_DEFAULTS = {
    "normalization": "rms",
    "reference_rms": 0.1,
    "reference_peak": 0.5,
    "latent_posterior": "mode",
}


class AudioCodec:
    r"""
    Mono waveforms to latents and back to log-mels.

    Args:
        vae ([`AutoencoderKL`] or [`LogMelLatent`], *optional*): the latent model of the log-mel image
            `(B, 1, N, M)`: a 1-channel KL autoencoder (latents scaled by its `scaling_factor`) or the per-band
            normalisation of the log-mel; needed by `encode`, `decode` and the latent-frame arithmetic only.
        mel ([`MelConfig`], *optional*): the log-mel front end the VAE was trained on (default: FlowSep's).
        reference_rms (`float`, defaults to 0.1): RMS every mixture is brought to before encoding (`"rms"`).
        normalization (`str`, defaults to `"rms"`): `"rms"` (flowsep's: `reference_rms`, the peak kept under
            0.99) or `"peak"` (the official FlowSep's: the mean removed, the peak brought to `reference_peak`).
        reference_peak (`float`, defaults to 0.5): peak of a `"peak"`-normalised mixture.
        latent_posterior (`str`, defaults to `"mode"`): a VAE latent is its posterior's `"mode"` or a `"sample"`
            (the official FlowSep's), drawn from the generator given to `encode`.
    """

    def __init__(
        self,
        vae: AutoencoderKL | LogMelLatent | None = None,
        mel: MelConfig | None = None,
        reference_rms: float = 0.1,
        normalization: str = "rms",
        reference_peak: float = 0.5,
        latent_posterior: str = "mode",
    ):
        if normalization not in NORMALIZATIONS or latent_posterior not in POSTERIORS:
            raise ValueError(
                f"normalization {normalization!r}, latent_posterior {latent_posterior!r}: "
                f"choose from {NORMALIZATIONS} and {POSTERIORS}"
            )
        self.vae, self.mel, self.reference_rms = vae, mel or MelConfig(), reference_rms
        self.normalization, self.reference_peak = normalization, reference_peak
        self.latent_posterior = latent_posterior

    @classmethod
    def from_config(cls, config: Mapping, vae: AutoencoderKL | LogMelLatent | None = None) -> AudioCodec:
        """From flat front-end settings (a pipeline's config: `sample_rate`, ..., `fmax`, `framing`,
        `reference_rms`, ...); level and latent settings it lacks take `LEVEL_DEFAULTS`."""
        mel = MelConfig(**{key: config[key] for key in MEL_KEYS if key in config})
        return cls(vae, mel, **{key: config.get(key, value) for key, value in LEVEL_DEFAULTS.items()})

    @property
    def config(self) -> dict:
        """The flat front-end settings a pipeline stores, the inverse of `from_config`."""
        settings = {key: value for key, value in asdict(self.mel).items() if key in MEL_KEYS}
        return settings | {key: getattr(self, key) for key in LEVEL_DEFAULTS}

    @property
    def sample_rate(self) -> int:
        return self.mel.sample_rate

    @property
    def time_factor(self) -> int:
        """Down-sampling of the latent in time (and frequency): 4 for a VAE of three blocks, 1 for the log-mel."""
        if isinstance(self.vae, LogMelLatent):
            return LogMelLatent.time_factor
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def latent_frame_samples(self) -> int:
        """Waveform samples per latent frame (640 at FlowSep's settings)."""
        return self.time_factor * self.mel.hop_length

    def latent_frames(self, samples: int) -> int:
        """Whole latent frames in `samples` samples."""
        return samples // self.latent_frame_samples

    def segment_samples(self, latent_frames: int) -> int:
        """Samples in a window of `latent_frames` latent frames (256 -> 163,840 = 10.24 s for the paper)."""
        return latent_frames * self.latent_frame_samples

    def window_plan(self, length: int, latent_frames: int, overlap_seconds: float) -> WindowPlan:
        """Windows of `latent_frames` latent frames over `length` samples, overlapping by `overlap_seconds`
        rounded to whole latent frames (at most half a window)."""
        unit = self.latent_frame_samples
        window = self.segment_samples(latent_frames)
        overlap = min(int(round(overlap_seconds * self.sample_rate / unit)) * unit, window // 2)
        return WindowPlan(length, window, overlap, self.mel.hop_length, unit)

    def level(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mixtures `(..., S)` at the model's level (`normalization`): `(scaled, gain (..., 1))`."""
        if self.normalization == "peak":
            return normalize_peak(wave, self.reference_peak)
        return normalize_mixture(wave, self.reference_rms)

    def level_pair(self, mixture: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mixtures `(B, S)` levelled, and their targets `(B, S)` scaled by the same gain (for training; less
        their mean too under `"peak"`, so that target and interferer still add up to the mixture)."""
        mixture, gain = self.level(mixture)
        if self.normalization == "peak":
            target = target - target.mean(dim=-1, keepdim=True)
        return mixture, target * gain

    def log_mel(self, wave: torch.Tensor) -> torch.Tensor:
        """Waveforms `(B, S)` -> log-mels `(B, M, N)` with `N = S // hop_length`."""
        return log_mel_spectrogram(wave, self.mel)

    @staticmethod
    def mel_to_image(mel: torch.Tensor) -> torch.Tensor:
        """Log-mels `(B, M, N)` -> the VAE's image `(B, 1, N, M)`."""
        return mel.transpose(1, 2).unsqueeze(1)

    @staticmethod
    def image_to_mel(image: torch.Tensor) -> torch.Tensor:
        """The VAE's image `(B, 1, N, M)` -> log-mels `(B, M, N)`."""
        return image.squeeze(1).transpose(1, 2)

    def mel_image(self, wave: torch.Tensor) -> torch.Tensor:
        """Waveforms `(B, S)` -> the VAE's log-mel image `(B, 1, N, M)`."""
        return self.mel_to_image(self.log_mel(wave))

    def encode(
        self,
        wave: torch.Tensor,
        device: torch.device | str | None = None,
        generator: torch.Generator | list[torch.Generator] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Levelled waveforms `(B, S)` -> (latents `(B, C, T, F)` in the latent model's dtype: a VAE's posterior
        mode or sample (`latent_posterior`, drawn from `generator`, or one per row) times `scaling_factor`, or the normalised
        log-mel image; log-mels `(B, M, N)`), on `device` (default: the latent model's)."""
        mel = self.log_mel(wave.to(self.vae.device if device is None else device))  # (B, M, N)
        image = self.mel_to_image(mel).to(self.vae.dtype)  # (B, 1, N, M)
        if isinstance(self.vae, LogMelLatent):
            return self.vae.encode(image), mel
        posterior = self.vae.encode(image).latent_dist
        latents = posterior.sample(generator) if self.latent_posterior == "sample" else posterior.mode()
        return latents * self.vae.config.scaling_factor, mel

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents `(B, C, T, F)` -> log-mels `(B, M, N)`, float32."""
        latents = latents.to(self.vae.dtype)
        if isinstance(self.vae, LogMelLatent):
            image = self.vae.decode(latents)
        else:
            image = self.vae.decode(latents / self.vae.config.scaling_factor).sample
        return self.image_to_mel(image).float()
