"""Rectified flow, written once (the diffusers / Stable Audio convention).

``sigma = 1`` is noise and ``sigma = 0`` is data; ``x_sigma = (1 - sigma) * x0 + sigma * noise``; the network
predicts the velocity ``v = noise - x0``. The paper's time ``t`` equals ``1 - sigma``. Timesteps fed to the
network are ``sigma * 1000`` as in diffusers' flow-matching schedulers, which own the sampling ODE step.
"""

from __future__ import annotations

import torch

NUM_TRAIN_TIMESTEPS = 1000


def interpolate(x0: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Point on the straight path: ``(1 - sigma) * x0 + sigma * noise``; sigma ``(B,)`` broadcasts over x0."""
    sigma = sigma.view(-1, *([1] * (x0.dim() - 1))).to(x0.dtype)
    return (1.0 - sigma) * x0 + sigma * noise


def velocity(x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Regression target of the network: ``noise - x0``."""
    return noise - x0


def predicted_x0(x_sigma: torch.Tensor, v: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Data estimate from a velocity prediction: ``x_sigma - sigma * v``."""
    sigma = sigma.view(-1, *([1] * (x_sigma.dim() - 1))).to(x_sigma.dtype)
    return x_sigma - sigma * v


def sample_sigmas(
    batch_size: int,
    scheme: str = "uniform",
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    logit_mean: float = 0.0,
    logit_std: float = 1.0,
) -> torch.Tensor:
    """Training noise levels ``(B,)`` in (0, 1): ``uniform`` or ``logit_normal`` (SD3's sampling)."""
    if scheme == "uniform":
        sigma = torch.rand(batch_size, generator=generator, device=device)
    elif scheme == "logit_normal":
        sigma = torch.sigmoid(logit_mean + logit_std * torch.randn(batch_size, generator=generator, device=device))
    else:
        raise ValueError(f"unknown timestep sampling scheme {scheme!r}: use 'uniform' or 'logit_normal'")
    return sigma.clamp(1e-5, 1.0)


def timestep_from_sigma(sigma: torch.Tensor) -> torch.Tensor:
    """Network timestep for a noise level: ``sigma * 1000``."""
    return sigma * NUM_TRAIN_TIMESTEPS
