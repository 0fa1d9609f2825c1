"""LogMelLatent: the log-mel itself as the flow's latent, normalised per mel band (no autoencoder).

A VAE costs training time and caps quality (its reconstruction of the mixture is the mask decoder's reference);
on a small budget the flow can run on the log-mel image directly. This component takes the VAE's place in a
:class:`~flowsep.FlowSepPipeline` folder: ``encode`` maps the log-mel image ``(B, 1, N, M)`` to
``(image - mean) / std`` with per-band ``band_mean`` and ``band_std`` ``(M,)``, ``decode`` inverts it, and the latent has
the log-mel's frame rate (``time_factor`` 1).
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin

__all__ = ["LogMelLatent"]


class LogMelLatent(ModelMixin, ConfigMixin):
    r"""
    Per-band normalisation of the log-mel image, saved and loaded as a diffusers model.

    Args:
        num_mel_bins (`int`, defaults to 64): mel bands `M`.
        mean (`float`, defaults to -5.0), std (`float`, defaults to 2.5): initial value of every band's
            statistics; the saved buffers `band_mean` and `band_std` `(M,)` hold the values in use.
    """

    time_factor = 1

    @register_to_config
    def __init__(self, num_mel_bins: int = 64, mean: float = -5.0, std: float = 2.5):
        super().__init__()
        if not std > 0:
            raise ValueError(f"std must be positive, got {std}")
        self.register_buffer("band_mean", torch.full((num_mel_bins,), float(mean)))
        self.register_buffer("band_std", torch.full((num_mel_bins,), float(std)))

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        """Log-mel image `(B, 1, N, M)` -> latent `(B, 1, N, M)`."""
        return (image - self.band_mean) / self.band_std

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latent `(B, 1, N, M)` -> log-mel image `(B, 1, N, M)`."""
        return latents * self.band_std + self.band_mean
