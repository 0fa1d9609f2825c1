"""FlowSepUNet: the official FlowSep network (an AudioLDM 2-style UNet) behind flowsep's velocity interface.

The official checkpoint's UNet is diffusers' :class:`AudioLDM2UNet2DConditionModel` with one plain level (no
attention) followed by levels where each residual block is followed by two spatial transformers: the first
attends only to itself (``cross_attention_dim`` ``None``), the second to the text encoder's states. This
module wraps it so that the pipeline calls it exactly as it calls :class:`FlowSepTransformer`.

Flow convention adapter (the one place it lives)
------------------------------------------------
The official network was trained with time ``t`` in [0, 1], ``t = 0`` noise and ``t = 1`` data, on the path
``x_t = (1 - (1 - 1e-4) t) eps + t x1``; it receives ``t`` unscaled and predicts ``u = x1 - (1 - 1e-4) eps``
in the first ``latent_channels`` of its output. flowsep integrates ``dx/dsigma = v`` from ``sigma = 1`` (noise)
to ``sigma = 0`` (data) and feeds the network ``timestep = sigma * 1000``. With ``t = 1 - sigma`` both describe
the same states, so only time and sign change::

    t = 1 - timestep / 1000          (official_time)
    v(x, sigma) = -u(x, t)           (velocity_from_official)

An Euler step of any flowsep scheduler from ``sigma`` to ``sigma'`` is then
``x + (sigma' - sigma) * v = x + (t' - t) * u``: exactly the official Euler step. The start ``x(sigma = 1)``
is the noise ``eps`` in both conventions; the 1e-4 offset only shapes the training path (``x_t`` at ``t = 1``
is ``1e-4 eps + x1``), so nothing else changes. Every solver, step count, guidance and decoder of flowsep
therefore works with the converted model. The authors' Euler grid is ``t = linspace(0, 1, N + 1)``: a converted
folder says ``sigma_grid: uniform``, and the pipeline hands the scheduler those sigmas (diffusers' own grid would
end with a step from sigma 0.001 to 0; see :func:`flowsep.schedulers.set_sigma_grid`).

Classifier-free guidance: the official model dropped the text with p = 0.1 during training, replacing it by the
Flan-T5 states of the empty caption padded to 50 tokens with an all-ones mask; the converter stores those states
as ``null_text_embedding``, and rows in ``text_dropout_mask`` get them.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin  # noqa: F401 (diffusers looks the base up by name)

from ..flow import NUM_TRAIN_TIMESTEPS, SOURCES
from .velocity import VelocityModel


def official_time(timestep: torch.Tensor) -> torch.Tensor:
    """flowsep's network timestep ``sigma * 1000`` -> the official time ``t = 1 - sigma`` (0 is noise)."""
    return 1.0 - timestep / NUM_TRAIN_TIMESTEPS


def velocity_from_official(prediction: torch.Tensor) -> torch.Tensor:
    """Official prediction ``u = dx/dt`` -> flowsep's velocity ``v = dx/dsigma = -u`` (``sigma = 1 - t``)."""
    return -prediction


class FlowSepUNet(VelocityModel, ConfigMixin):
    r"""
    The official FlowSep UNet with flowsep's velocity interface (see the module docstring for the convention).

    Args:
        block_out_channels (`tuple[int]`, defaults to `(128, 256, 384, 640)`): channels per level (128 x 1, 2, 3, 5).
        layers_per_block (`int`, defaults to 2): residual blocks per level on the way down (one more going up).
        attention_head_dim (`int`, defaults to 32): channels per attention head at every level.
        norm_num_groups (`int`, defaults to 32): groups of every group norm.
        latent_channels (`int`, defaults to 8): channels of the VAE latent; the UNet sees twice as many (noisy
            target and mixture latents concatenated) and outputs twice as many, of which the first half is used.
        latent_frequency_bins (`int`, defaults to 16): frequency size of the latent (64 mel bands / 4).
        sample_size (`int`, defaults to 256): latent frames of one window (10.24 s at 16 kHz).
        text_embed_dim (`int`, defaults to 1024): hidden size of the text encoder (Flan-T5-large).
        null_text_length (`int`, defaults to 50): tokens of the stored null text (the empty caption, padded).
        source (`str`, defaults to `"noise"`): where the flow starts; the official model starts from noise.
        source_noise (`float`, defaults to 1.0): unused by a `"noise"` source (kept for the pipeline's interface).
    """

    _supports_gradient_checkpointing = False

    @register_to_config
    def __init__(
        self,
        block_out_channels: tuple[int, ...] = (128, 256, 384, 640),
        layers_per_block: int = 2,
        attention_head_dim: int = 32,
        norm_num_groups: int = 32,
        latent_channels: int = 8,
        latent_frequency_bins: int = 16,
        sample_size: int = 256,
        text_embed_dim: int = 1024,
        null_text_length: int = 50,
        source: str = "noise",
        source_noise: float = 1.0,
    ):
        super().__init__()
        if source not in SOURCES:
            raise ValueError(f"source={source!r}: choose one of {SOURCES}")
        levels = len(block_out_channels)
        from diffusers.pipelines.audioldm2.modeling_audioldm2 import (
            AudioLDM2UNet2DConditionModel,  # on use: slow
        )

        self.unet = AudioLDM2UNet2DConditionModel(
            in_channels=2 * latent_channels,
            out_channels=2 * latent_channels,
            block_out_channels=tuple(block_out_channels),
            layers_per_block=layers_per_block,
            down_block_types=("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (levels - 1),
            up_block_types=("CrossAttnUpBlock2D",) * (levels - 1) + ("UpBlock2D",),
            # diffusers reads `attention_head_dim` as heads per level
            attention_head_dim=tuple(channels // attention_head_dim for channels in block_out_channels),
            cross_attention_dim=[[None, text_embed_dim]] * levels,
            norm_num_groups=norm_num_groups,
            flip_sin_to_cos=True,
            freq_shift=0,
        )
        self.null_text_embedding = nn.Parameter(torch.zeros(1, null_text_length, text_embed_dim))

    def _text_conditioning(self, states, mask, drop):
        """Rows in ``drop`` get the null text; returns states ``(B, L, E)`` and mask ``(B, L)``."""
        batch, null = drop.shape[0], self.null_text_embedding.to(self.dtype)
        null_mask = torch.ones(null.shape[:2], device=null.device)
        if states is None:
            return null.expand(batch, -1, -1), null_mask.expand(batch, -1)
        mask = torch.ones(states.shape[:2], device=states.device) if mask is None else mask.to(states.device)
        if not bool(drop.any()):
            return states, mask
        length = max(states.shape[1], null.shape[1])
        states = F.pad(states, (0, 0, 0, length - states.shape[1]))
        mask = F.pad(mask.float(), (0, length - mask.shape[1]))
        null = F.pad(null.to(states.dtype), (0, 0, 0, length - null.shape[1])).to(states.device)
        null_mask = F.pad(null_mask, (0, length - null_mask.shape[1])).to(states.device)
        states = torch.where(drop[:, None, None], null, states)
        mask = torch.where(drop[:, None], null_mask, mask)
        return states, mask

    def _velocity(self, x, timestep, states, mask) -> torch.Tensor:
        """Extended latent ``(B, 2C, T, F)`` -> flowsep's velocity ``dx/dsigma`` ``(B, C, T, F)``."""
        channels = x.shape[1] // 2
        prediction = self.unet(
            x, official_time(timestep), encoder_hidden_states=states.to(x.dtype), encoder_attention_mask=mask
        ).sample[:, :channels]  # (B, C, T, F): the official u = dx/dt
        return velocity_from_official(prediction)
