"""Samplers for the three objectives a flowsep model can be trained with (:mod:`flowsep.training.objective`).

- flow matching: diffusers' Euler and Heun schedulers, plus :class:`FlowMatchMidpointScheduler` (diffusers has
  no midpoint solver for flow matching; it interleaves a half-step evaluation between the schedule's points,
  two network evaluations per interval);
- diffusion: diffusers' DDIM and DPM-Solver++ on :data:`DIFFUSION_SCHEDULE`;
- predictive: :class:`PredictiveScheduler`, one pass whose output is the result.

All share diffusers' interface (``set_timesteps`` / ``step`` / ``timesteps``), so the pipeline samples each
the same way. A model folder's scheduler says which family its network belongs to; :func:`make_scheduler`
swaps solvers within a family only.
"""

from __future__ import annotations

import numpy as np
import torch
from diffusers import (
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    FlowMatchEulerDiscreteScheduler,
    FlowMatchHeunDiscreteScheduler,
)
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.schedulers.scheduling_utils import SchedulerMixin, SchedulerOutput

from .choices import SCHEDULER_FAMILIES, SIGMA_GRIDS, SOLVER_FAMILIES
from .errors import UsageError

# The DDPM schedule of flowsep's diffusion objective: Stable Diffusion's betas rescaled to zero terminal SNR
# (Lin et al. 2024), so that the last timestep is the source itself, as sigma = 1 is for the flow.
DIFFUSION_SCHEDULE = {
    "num_train_timesteps": 1000, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012,
    "rescale_betas_zero_snr": True, "timestep_spacing": "trailing", "clip_sample": False,
}  # fmt: skip


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
        return SchedulerOutput(prev_sample=prev)

    def __len__(self):
        return self.config.num_train_timesteps


class PredictiveScheduler(SchedulerMixin, ConfigMixin):
    """One network pass at the source (timestep ``num_train_timesteps``), whose output is the target: the
    sampler of a predictive model. ``num_inference_steps`` is accepted and ignored (always one pass)."""

    order = 1

    @register_to_config
    def __init__(self, num_train_timesteps: int = 1000):
        self.init_noise_sigma = 1.0
        self.timesteps = None

    def set_timesteps(self, num_inference_steps: int = 1, device: str | torch.device | None = None):
        self.timesteps = torch.tensor([float(self.config.num_train_timesteps)], device=device)

    def step(self, model_output: torch.Tensor, timestep, sample: torch.Tensor, return_dict: bool = True):
        prev = model_output.to(sample.dtype)
        if not return_dict:
            return (prev,)
        return SchedulerOutput(prev_sample=prev)

    def __len__(self):
        return self.config.num_train_timesteps


SOLVERS = {
    "euler": FlowMatchEulerDiscreteScheduler,
    "heun": FlowMatchHeunDiscreteScheduler,
    "midpoint": FlowMatchMidpointScheduler,
    "ddim": DDIMScheduler,
    "dpmsolver++": DPMSolverMultistepScheduler,
    "predictive": PredictiveScheduler,
}
FAMILIES = {family: {name: SOLVERS[name] for name in names} for family, names in SOLVER_FAMILIES.items()}
SOLVER_OF_CLASS = {cls.__name__: name for name, cls in SOLVERS.items()}


def family_of(scheduler_class_name: str) -> str:
    """``flow``, ``diffusion`` or ``predictive``: the objective a scheduler class samples."""
    if scheduler_class_name not in SCHEDULER_FAMILIES:
        raise ValueError(f"unknown scheduler class {scheduler_class_name!r}")
    return SCHEDULER_FAMILIES[scheduler_class_name]


def config_of(scheduler: SchedulerMixin) -> dict:
    """A scheduler's config with its class name (``_class_name``, which a live config lacks until saved)."""
    return {**scheduler.config, "_class_name": type(scheduler).__name__}


def solvers_for(config: dict) -> tuple[str, ...]:
    """The solvers that can sample the model whose scheduler config this is, its own first."""
    family = family_of(config["_class_name"]) if "_class_name" in config else "flow"
    own = SOLVER_OF_CLASS.get(config.get("_class_name"), SOLVER_FAMILIES[family][0])
    return tuple(dict.fromkeys([own, *FAMILIES[family]]))


def make_scheduler(
    solver: str | None, shift: float | None = None, base_config: dict | None = None
) -> SchedulerMixin:
    """A scheduler for ``solver`` (``None``: the one ``base_config`` names), keeping ``base_config``'s shared
    settings; a solver of another family than ``base_config``'s is refused (`UsageError`)."""
    if solver is not None and solver not in SOLVERS:
        raise UsageError(f"unknown solver {solver!r}: choose one of {', '.join(SOLVERS)}")
    base_config = dict(base_config or {})
    family = family_of(base_config["_class_name"]) if "_class_name" in base_config else None
    if solver is None:
        solver = solvers_for(base_config)[0]
    elif family is not None and solver not in FAMILIES[family]:
        raise UsageError(
            f"solver {solver!r} samples another kind of model: this {family} model takes "
            f"{', '.join(FAMILIES[family])}"
        )
    if solver in FAMILIES["flow"]:
        config = {"num_train_timesteps": 1000, "shift": 1.0}
        config.update({key: base_config[key] for key in config if key in base_config})
        if shift is not None:
            config["shift"] = shift
        return SOLVERS[solver](**config)
    if shift is not None:
        raise UsageError("shift applies to flow models only")
    if solver in FAMILIES["diffusion"]:
        config = {key: base_config.get(key, value) for key, value in DIFFUSION_SCHEDULE.items()}
        config["prediction_type"] = base_config.get("prediction_type", "v_prediction")
        if solver == "dpmsolver++":
            config = {**config, "algorithm_type": "dpmsolver++"}
            config.pop("clip_sample")
        return SOLVERS[solver](**config)
    return PredictiveScheduler()


def set_sigma_grid(
    scheduler: SchedulerMixin,
    num_inference_steps: int,
    grid: str = "uniform",
    device: str | torch.device | None = None,
):
    """``scheduler.set_timesteps`` for ``num_inference_steps`` steps; a flow solver's on ``grid``.

    ``"uniform"``: steps of ``1 / N`` from sigma 1 to 0 (the official FlowSep's Euler grid, ``t = linspace(0, 1,
    N + 1)``; explicit sigmas for Euler, the end point ``1 / N`` for Heun). ``"diffusers"``: diffusers' own, ``N``
    points from 1 to ``1 / num_train_timesteps`` and then 0 (for 10 Euler steps, nine of 0.111 and one of 0.001).
    Both pass through the solver's ``shift``; the midpoint solver is uniform either way, other families keep their
    own schedules."""
    if grid not in SIGMA_GRIDS:
        raise UsageError(f"unknown sigma grid {grid!r}: choose one of {', '.join(SIGMA_GRIDS)}")
    if grid == "uniform" and isinstance(scheduler, FlowMatchEulerDiscreteScheduler):
        sigmas = np.linspace(1.0, 0.0, num_inference_steps + 1)[:-1]
        scheduler.set_timesteps(sigmas=sigmas, device=device)
    elif grid == "uniform" and isinstance(scheduler, FlowMatchHeunDiscreteScheduler):
        end, scheduler.sigma_min = scheduler.sigma_min, 1.0 / num_inference_steps
        scheduler.set_timesteps(num_inference_steps, device=device)
        scheduler.sigma_min = end
    else:
        scheduler.set_timesteps(num_inference_steps, device=device)
