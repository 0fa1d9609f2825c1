"""Flow-matching ODE solvers: diffusers' Euler and Heun schedulers, plus an explicit midpoint scheduler.

diffusers has no midpoint solver for flow matching, so :class:`FlowMatchMidpointScheduler` adds one with the
same interface (``set_timesteps`` / ``step`` / ``timesteps``): it interleaves a half-step evaluation between
the schedule's points, two network evaluations per interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from diffusers import FlowMatchEulerDiscreteScheduler, FlowMatchHeunDiscreteScheduler
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from diffusers.utils import BaseOutput


@dataclass
class FlowMatchMidpointSchedulerOutput(BaseOutput):
    prev_sample: torch.Tensor


class FlowMatchMidpointScheduler(SchedulerMixin, ConfigMixin):
    """Explicit midpoint (2nd-order Runge-Kutta) integration of ``dx/dsigma = v`` from sigma = 1 to 0.

    Args:
        num_train_timesteps (`int`, defaults to 1000): timesteps are ``sigma * num_train_timesteps``.
        shift (`float`, defaults to 1.0): schedule shift ``shift * s / (1 + (shift - 1) * s)`` (SD3's).
    """

    order = 2

    @register_to_config
    def __init__(self, num_train_timesteps: int = 1000, shift: float = 1.0):
        self.init_noise_sigma = 1.0
        self.sigmas = None
        self.timesteps = None
        self.num_inference_steps = None
        self._step_index = 0

    def set_timesteps(self, num_inference_steps: int, device: str | torch.device | None = None):
        """Intervals between ``num_inference_steps + 1`` shifted sigmas from 1 to 0; timesteps interleave midpoints."""
        self.num_inference_steps = num_inference_steps
        base = np.linspace(1.0, 0.0, num_inference_steps + 1)
        shift = self.config.shift
        sigmas = shift * base / (1 + (shift - 1) * base)
        points = np.empty(2 * num_inference_steps)
        points[0::2] = sigmas[:-1]
        points[1::2] = 0.5 * (sigmas[:-1] + sigmas[1:])
        self.sigmas = torch.from_numpy(sigmas).float().to(device)
        self.timesteps = torch.from_numpy(points * self.config.num_train_timesteps).float().to(device)
        self._step_index = 0
        self._interval_start = None

    @property
    def step_index(self) -> int:
        return self._step_index

    def step(self, model_output: torch.Tensor, timestep, sample: torch.Tensor, return_dict: bool = True):
        """First call of an interval: move to its midpoint; second call: full step with the midpoint velocity."""
        interval = self._step_index // 2
        sigma, sigma_next = self.sigmas[interval], self.sigmas[interval + 1]
        if self._step_index % 2 == 0:
            self._interval_start = sample
            prev = sample + 0.5 * (sigma_next - sigma) * model_output.to(sample.dtype)
        else:
            prev = self._interval_start + (sigma_next - sigma) * model_output.to(sample.dtype)
            self._interval_start = None
        self._step_index += 1
        if not return_dict:
            return (prev,)
        return FlowMatchMidpointSchedulerOutput(prev_sample=prev)

    def __len__(self):
        return self.config.num_train_timesteps


SOLVERS = {
    "euler": FlowMatchEulerDiscreteScheduler,
    "heun": FlowMatchHeunDiscreteScheduler,
    "midpoint": FlowMatchMidpointScheduler,
}


def make_scheduler(
    solver: str, shift: float | None = None, base_config: dict | None = None
) -> SchedulerMixin:
    """A scheduler for ``solver`` (euler / heun / midpoint), keeping ``base_config``'s shared settings."""
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}: choose one of {sorted(SOLVERS)}")
    config = {"num_train_timesteps": 1000, "shift": 1.0}
    for key in config:
        if base_config and key in base_config:
            config[key] = base_config[key]
    if shift is not None:
        config["shift"] = shift
    return SOLVERS[solver](**config)
