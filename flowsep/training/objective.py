"""The rectified flow-matching objective of FlowSep, kept apart from the backbone (as F5-TTS's ``cfm.py``).

Given the target latent ``x0`` and the mixture latent, it draws noise and a noise level, builds the source
sample ``x1`` (the noise itself, or the mixture latent plus scaled noise) and the point ``x_sigma`` on the
straight path, asks the network for the velocity and regresses it onto ``x1 - x0`` (the conventions of
:mod:`flowsep.flow`). Rows whose text is dropped get the network's null text, which is
what classifier-free guidance needs at inference. ``source_sigma_prob`` of the rows start exactly at the
source (``sigma = 1``), where a mixture-source flow makes its one hard decision. The prediction of the data
``x0_hat = x_sigma - sigma * v`` (:attr:`FlowMatchingOutput.predicted_target`) is what a data-space loss
(e.g. SI-SDR of the decoded waveform) sees; that loss is a reweighting of the same velocity objective.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..flow import interpolate, sample_sigmas, source_sample, timestep_from_sigma, velocity


@dataclass
class FlowMatchingOutput:
    """loss: scalar MSE; sigma: ``(B,)`` noise levels; x_sigma, prediction: ``(B, C, T, F)`` the network's
    input and its velocity."""

    loss: torch.Tensor
    sigma: torch.Tensor
    x_sigma: torch.Tensor
    prediction: torch.Tensor

    @property
    def predicted_target(self) -> torch.Tensor:
        """The data the velocity points to: ``x_sigma - sigma * prediction``, ``(B, C, T, F)``."""
        sigma = self.sigma.view(-1, *([1] * (self.x_sigma.dim() - 1))).to(self.prediction.dtype)
        return self.x_sigma - sigma * self.prediction


class FlowMatchingObjective:
    r"""
    Velocity regression loss on the extended latent.

    Args:
        timestep_sampling (`str`, defaults to `"uniform"`): how noise levels are drawn, see
            [`flowsep.flow.sample_sigmas`].
        logit_mean (`float`), logit_std (`float`): parameters of `"logit_normal"` sampling.
        text_dropout (`float`, defaults to 0.1): probability that a row gets the null text.
        source (`str`, defaults to `"noise"`), source_noise (`float`, defaults to 1.0): the flow's source, see
            [`flowsep.flow.source_sample`]; the transformer's config says which one it learns.
        source_sigma_prob (`float`, defaults to 0.0): probability that a row's noise level is exactly 1.

    The randomness (noise, noise levels, text dropout) comes from the given `torch.Generator` on the CPU, so
    a training step is reproducible from its seed whatever the device.
    """

    def __init__(
        self,
        timestep_sampling: str = "uniform",
        logit_mean: float = 0.0,
        logit_std: float = 1.0,
        text_dropout: float = 0.1,
        source: str = "noise",
        source_noise: float = 1.0,
        source_sigma_prob: float = 0.0,
    ):
        self.timestep_sampling, self.source_sigma_prob = timestep_sampling, source_sigma_prob
        self.source, self.source_noise = source, source_noise
        self.logit_mean, self.logit_std = logit_mean, logit_std
        self.text_dropout = text_dropout

    def __call__(
        self,
        model: torch.nn.Module,
        target_latents: torch.Tensor,
        mixture_latents: torch.Tensor,
        text_states: torch.Tensor,
        text_mask: torch.Tensor,
        generator: torch.Generator | None = None,
        text_dropout: float | None = None,
    ) -> FlowMatchingOutput:
        r"""
        Args:
            model: the velocity network (a [`FlowSepTransformer`], possibly wrapped for DDP).
            target_latents (`torch.Tensor`): scaled target latent `x0`, `(B, C, T, F)`.
            mixture_latents (`torch.Tensor`): scaled mixture latent, `(B, C, T, F)`.
            text_states (`torch.Tensor`): text encoder states `(B, L, E)`; text_mask `(B, L)`.
            generator (`torch.Generator`, *optional*): CPU generator for noise, levels and dropout.
            text_dropout (`float`, *optional*): overrides the dropout probability (0 for validation).
        """
        batch, device = target_latents.shape[0], target_latents.device
        p_drop = self.text_dropout if text_dropout is None else text_dropout
        noise = torch.randn(target_latents.shape, generator=generator).to(device, target_latents.dtype)
        sigma = sample_sigmas(
            batch,
            self.timestep_sampling,
            generator,
            "cpu",
            self.logit_mean,
            self.logit_std,
            self.source_sigma_prob,
        )
        drop = torch.rand(batch, generator=generator) < p_drop
        sigma, drop = sigma.to(device), drop.to(device)
        x1 = source_sample(noise, mixture_latents, self.source, self.source_noise)
        x_sigma = interpolate(target_latents, x1, sigma)  # (B, C, T, F)
        prediction = model(
            x_sigma, mixture_latents, timestep_from_sigma(sigma),
            encoder_hidden_states=text_states, encoder_attention_mask=text_mask, text_dropout_mask=drop,
        ).sample  # fmt: skip
        loss = F.mse_loss(prediction.float(), velocity(target_latents, x1).float())
        return FlowMatchingOutput(loss=loss, sigma=sigma, x_sigma=x_sigma, prediction=prediction)
