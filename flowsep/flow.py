"""Rectified flow, written once (the diffusers / Stable Audio convention).

``sigma = 1`` is the source and ``sigma = 0`` is data; ``x_sigma = (1 - sigma) * x0 + sigma * x1``; the network
predicts the velocity ``v = x1 - x0``. FlowSep's source ``x1`` is Gaussian noise; the ``"mixture"`` source
(:func:`source_sample`) starts from the mixture's latent plus scaled noise, so that the flow bridges mixture and
target and whatever the network is unsure of stays as it is in the mixture. The paper's time ``t`` equals
``1 - sigma``. Timesteps fed to the network are ``sigma * 1000`` as in diffusers' flow-matching schedulers, which
own the sampling ODE step.
"""

from __future__ import annotations

import torch

NUM_TRAIN_TIMESTEPS = 1000
SOURCES = ("noise", "mixture")


def source_sample(
    noise: torch.Tensor, mixture_latents: torch.Tensor, source: str = "noise", source_noise: float = 1.0
) -> torch.Tensor:
    """Start of the path ``x1`` ``(B, C, T, F)``: ``noise``, or ``mixture_latents + source_noise * noise``."""
    if source == "noise":
        return noise
    if source == "mixture":
        return mixture_latents.to(noise.dtype) + source_noise * noise
    raise ValueError(f"unknown flow source {source!r}: choose one of {SOURCES}")


def interpolate(x0: torch.Tensor, x1: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Point on the straight path: ``(1 - sigma) * x0 + sigma * x1``; sigma ``(B,)`` broadcasts over x0."""
    sigma = sigma.view(-1, *([1] * (x0.dim() - 1))).to(x0.dtype)
    return (1.0 - sigma) * x0 + sigma * x1


def velocity(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
    """Regression target of the network: ``x1 - x0``, from the data to the source sample."""
    return x1 - x0


def sample_sigmas(
    batch_size: int,
    scheme: str = "uniform",
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    logit_mean: float = 0.0,
    logit_std: float = 1.0,
    source_prob: float = 0.0,
) -> torch.Tensor:
    """Training noise levels ``(B,)`` in (0, 1]: ``uniform`` or ``logit_normal`` (SD3's sampling); a fraction
    ``source_prob`` of the rows is set to exactly 1, the source (drawn only when positive, so that other
    settings keep their random streams)."""
    if scheme == "uniform":
        sigma = torch.rand(batch_size, generator=generator, device=device)
    elif scheme == "logit_normal":
        sigma = torch.sigmoid(
            logit_mean + logit_std * torch.randn(batch_size, generator=generator, device=device)
        )
    else:
        raise ValueError(f"unknown timestep sampling scheme {scheme!r}: use 'uniform' or 'logit_normal'")
    sigma = sigma.clamp(1e-5, 1.0)
    if source_prob > 0:
        at_source = torch.rand(batch_size, generator=generator, device=device) < source_prob
        sigma = torch.where(at_source, torch.ones_like(sigma), sigma)
    return sigma


def timestep_from_sigma(sigma: torch.Tensor) -> torch.Tensor:
    """Network timestep for a noise level: ``sigma * 1000``."""
    return sigma * NUM_TRAIN_TIMESTEPS
