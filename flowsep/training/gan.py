"""BigVGAN's adversarial training parts, taken from the ``bigvgan`` package (not re-implemented).

:class:`Discriminators` combines the multi-period discriminator with the multi-resolution (BigVGAN v1) or
multi-band (v2) one, as ``bigvgan/train.py`` does; the loss helpers combine ``bigvgan.loss``'s
``discriminator_loss``, ``generator_loss`` and ``feature_loss`` over both.

``bigvgan.discriminators`` imports ``torchaudio.transforms`` when loaded, but only its multi-band
discriminator needs it (a complex ``Spectrogram``). PyPI's torchaudio wheels are CUDA builds that cannot
load beside a CPU-only torch, so when torchaudio cannot be imported, that module is loaded with a minimal
stand-in (:class:`_Spectrogram`, torchaudio's defaults), which is removed from ``sys.modules`` afterwards.
"""

from __future__ import annotations

import contextlib
import io
import sys
import types

import torch
from bigvgan.env import AttrDict
from bigvgan.loss import discriminator_loss, feature_loss, generator_loss
from torch import nn

from .recipe import VocoderStageConfig


class _Spectrogram(nn.Module):
    """torchaudio's ``Spectrogram`` with its defaults (periodic Hann window, centred, reflect padding)."""

    def __init__(self, n_fft: int, hop_length: int, win_length: int, power: float | None = None):
        super().__init__()
        if power is not None:
            raise ValueError("the stand-in only computes complex spectrograms (power=None)")
        self.n_fft, self.hop_length, self.win_length = n_fft, hop_length, win_length
        self.register_buffer("window", torch.hann_window(win_length))

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` -> complex ``(B, n_fft // 2 + 1, frames)``."""
        return torch.stft(
            wave, self.n_fft, self.hop_length, self.win_length, self.window, center=True, pad_mode="reflect",
            normalized=False, onesided=True, return_complex=True,
        )  # fmt: skip


def _unavailable(*args, **kwargs):
    raise ImportError("torchaudio is not importable: the CQT discriminator needs its Resample")


def _import_discriminators():
    try:
        import torchaudio.transforms  # noqa: F401
    except (ImportError, OSError):
        package, transforms = types.ModuleType("torchaudio"), types.ModuleType("torchaudio.transforms")
        transforms.Spectrogram, transforms.Resample = _Spectrogram, _unavailable
        package.transforms = transforms
        saved = {name: sys.modules.get(name) for name in ("torchaudio", "torchaudio.transforms")}
        sys.modules.update({"torchaudio": package, "torchaudio.transforms": transforms})
        try:
            import bigvgan.discriminators as module
        finally:
            for name, value in saved.items():
                if value is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = value
        return module
    import bigvgan.discriminators as module

    return module


class Discriminators(nn.Module):
    """Multi-period discriminator plus the multi-resolution (``"mrd"``) or multi-band (``"mbd"``) one."""

    def __init__(self, config: VocoderStageConfig):
        super().__init__()
        module = _import_discriminators()
        hparams = AttrDict(
            mpd_reshapes=list(config.mpd_reshapes), use_spectral_norm=config.use_spectral_norm,
            discriminator_channel_mult=config.discriminator_channel_mult,
            resolutions=[list(r) for r in config.resolutions], mbd_fft_sizes=list(config.mbd_fft_sizes),
        )  # fmt: skip
        with contextlib.redirect_stdout(io.StringIO()):  # the package prints its settings
            self.mpd = module.MultiPeriodDiscriminator(hparams)
            second = (
                module.MultiResolutionDiscriminator
                if config.discriminator == "mrd"
                else module.MultiBandDiscriminator
            )
            self.spectral = second(hparams)

    def forward(self, real: torch.Tensor, fake: torch.Tensor) -> list[tuple]:
        """real, fake ``(B, 1, T)`` -> per discriminator ``(real scores, fake scores, real maps, fake maps)``."""
        return [self.mpd(real, fake), self.spectral(real, fake)]


def discriminator_objective(outputs: list[tuple]) -> torch.Tensor:
    """Least-squares GAN loss of the discriminators (real -> 1, fake -> 0), summed over both."""
    return sum(discriminator_loss(real, fake)[0] for real, fake, _, _ in outputs)


def generator_objective(outputs: list[tuple]) -> tuple[torch.Tensor, torch.Tensor]:
    """(adversarial loss, feature-matching loss) of the generator, summed over both discriminators."""
    adversarial = sum(generator_loss(fake)[0] for _, fake, _, _ in outputs)
    matching = sum(feature_loss(real_maps, fake_maps) for _, _, real_maps, fake_maps in outputs)
    return adversarial, matching
