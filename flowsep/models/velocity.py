"""The interface every flowsep velocity network shares: extended latent + time + text -> velocity.

:class:`VelocityModel` owns ``forward``: it concatenates the flow's state and the mixture latent on channels
(FlowSep's extended latent), swaps dropped rows' text for the network's null text, and hands the rest to the
subclass's ``_velocity``. The pipeline and the training objective call every network the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.models.modeling_utils import ModelMixin
from diffusers.utils import BaseOutput


@dataclass
class FlowSepTransformerOutput(BaseOutput):
    """sample: predicted velocity ``dx/dsigma`` (``x1 - x0`` on the straight path), ``(B, latent_channels, T, F)``."""

    sample: torch.Tensor


class VelocityModel(ModelMixin):
    """Base of the velocity networks: subclasses define ``_text_conditioning`` and ``_velocity``."""

    def _text_conditioning(self, states, mask, drop) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows in ``drop`` ``(B,)`` get the null text: states ``(B, L, E)`` and mask ``(B, L)``."""
        raise NotImplementedError

    def _velocity(self, x, timestep, states, mask) -> torch.Tensor:
        """Extended latent ``(B, 2C, T, F)``, timestep ``(B,)``, text ``(B, L, E)`` -> velocity ``(B, C, T, F)``."""
        raise NotImplementedError

    def forward(
        self,
        hidden_states: torch.Tensor,
        mixture_latents: torch.Tensor,
        timestep: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        text_dropout_mask: torch.Tensor | None = None,
        return_dict: bool = True,
    ) -> FlowSepTransformerOutput | tuple:
        r"""
        Args:
            hidden_states (`torch.Tensor`): the flow's state (the noisy target latent), `(B, C, T, F)`.
            mixture_latents (`torch.Tensor`): mixture latent, `(B, C, T, F)`.
            timestep (`torch.Tensor`): `sigma * 1000`, `(B,)` or a scalar.
            encoder_hidden_states (`torch.Tensor`, *optional*): text states `(B, L, text_embed_dim)`; `None` means
                unconditional (the null text) for every row.
            encoder_attention_mask (`torch.Tensor`, *optional*): `(B, L)`, 1 for real tokens.
            text_dropout_mask (`torch.Tensor`, *optional*): `(B,)` bool, rows that get the null text (CFG).
        """
        batch = hidden_states.shape[0]
        x = torch.cat([hidden_states, mixture_latents.to(hidden_states.dtype)], dim=1)  # (B, 2C, T, F)
        timestep = torch.as_tensor(timestep, device=x.device, dtype=torch.float32).expand(batch)
        drop = torch.zeros(batch, dtype=torch.bool, device=x.device)
        if text_dropout_mask is not None:
            drop = text_dropout_mask.to(x.device).bool()
        states, mask = self._text_conditioning(encoder_hidden_states, encoder_attention_mask, drop)
        out = self._velocity(x, timestep, states, mask)
        return FlowSepTransformerOutput(sample=out) if return_dict else (out,)
