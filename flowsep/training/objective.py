"""FlowSep's training objectives, kept apart from the backbone (as F5-TTS's ``cfm.py``).

Given the target latent ``x0`` and the mixture latent, an objective draws noise and a noise level, builds the
source sample ``x1`` (the noise itself, or the mixture latent plus scaled noise, :func:`flowsep.flow.source_sample`)
and the network's input, asks the network for its output and regresses it onto what the objective predicts:

- :class:`FlowMatchingObjective` (FlowSep): the point ``x_sigma`` on the straight path, the velocity ``x1 - x0``.
- :class:`DiffusionObjective`: a DDPM noise schedule (diffusers' :class:`~diffusers.DDPMScheduler`, zero terminal
  SNR, so that its last timestep is exactly the source); ``x_t = sqrt(a_t) x0 + sqrt(1 - a_t) x1``, and the
  network predicts ``v`` or ``epsilon`` (= ``x1``).
- :class:`PredictiveObjective`: one pass from the source (``sigma = 1``) to the target itself, as a mask network
  does (the paper's predictive baseline, on the same backbone).

Rows whose text is dropped get the network's null text, which is what classifier-free guidance needs at
inference. ``source_sigma_prob`` of the rows start exactly at the source, where a mixture-source model makes
its one hard decision. Every output holds the prediction of the data :attr:`ObjectiveOutput.predicted_target`,
which a data-space loss (e.g. SI-SDR of the decoded waveform) sees. :func:`sampling_scheduler` gives the
scheduler that samples what an objective trained.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler

from ..choices import OBJECTIVES, PREDICTION_TYPES
from ..flow import interpolate, sample_sigmas, source_sample, timestep_from_sigma, velocity
from ..schedulers import DIFFUSION_SCHEDULE


@dataclass
class ObjectiveOutput:
    """loss: scalar MSE; sigma: ``(B,)`` noise levels in (0, 1]; x_sigma, prediction, predicted_target:
    ``(B, C, T, F)`` the network's input, its output and the data that output points to."""

    loss: torch.Tensor
    sigma: torch.Tensor
    x_sigma: torch.Tensor
    prediction: torch.Tensor
    predicted_target: torch.Tensor


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

    def path(self, x0, x1, sigma) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The network's input ``(B, C, T, F)``, its timestep ``(B,)`` and its regression target at ``sigma``."""
        return interpolate(x0, x1, sigma), timestep_from_sigma(sigma), velocity(x0, x1)

    def data_prediction(self, x_in, sigma, prediction) -> torch.Tensor:
        """The data the velocity points to: ``x_sigma - sigma * prediction``, ``(B, C, T, F)``."""
        return x_in - _rows(sigma, x_in) * prediction

    def __call__(
        self,
        model: torch.nn.Module,
        target_latents: torch.Tensor,
        mixture_latents: torch.Tensor,
        text_states: torch.Tensor,
        text_mask: torch.Tensor,
        generator: torch.Generator | None = None,
        text_dropout: float | None = None,
    ) -> ObjectiveOutput:
        r"""
        Args:
            model: the network (a [`FlowSepTransformer`], possibly wrapped for DDP).
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
        x_in, timestep, regression_target = self.path(target_latents, x1, sigma)  # (B, C, T, F), (B,), ...
        prediction = model(
            x_in, mixture_latents, timestep,
            encoder_hidden_states=text_states, encoder_attention_mask=text_mask, text_dropout_mask=drop,
        ).sample  # fmt: skip
        loss = F.mse_loss(prediction.float(), regression_target.float())
        predicted = self.data_prediction(x_in, sigma, prediction)
        return ObjectiveOutput(loss, sigma, x_in, prediction, predicted)


class DiffusionObjective(FlowMatchingObjective):
    r"""
    DDPM training on the extended latent (DiffusionSep / AudioLDM style), with the flow's sources.

    Args:
        prediction_type (`str`, defaults to `"v_prediction"`): what the network predicts, `"v_prediction"`
            (``sqrt(a) x1 - sqrt(1 - a) x0``) or `"epsilon"` (``x1``).
        The other arguments are [`FlowMatchingObjective`]'s; a noise level ``sigma`` in (0, 1] is the timestep
        ``round(sigma * 999)`` of [`flowsep.schedulers.DIFFUSION_SCHEDULE`] (``sigma = 1``: the source).
    """

    def __init__(self, *args, prediction_type: str = "v_prediction", **kwargs):
        super().__init__(*args, **kwargs)
        if prediction_type not in PREDICTION_TYPES:
            raise ValueError(f"prediction_type={prediction_type!r}: choose one of {PREDICTION_TYPES}")
        self.noise_scheduler = DDPMScheduler(**DIFFUSION_SCHEDULE, prediction_type=prediction_type)

    def _timesteps(self, sigma: torch.Tensor) -> torch.Tensor:
        last = self.noise_scheduler.config.num_train_timesteps - 1
        return (sigma * last).round().long()

    def _alphas(self, sigma, like) -> tuple[torch.Tensor, torch.Tensor]:
        """``sqrt(a_t)`` and ``sqrt(1 - a_t)`` per row, shaped to broadcast over ``like``."""
        alpha = self.noise_scheduler.alphas_cumprod.to(like.device)[self._timesteps(sigma)]
        return _rows(alpha.sqrt(), like), _rows((1 - alpha).sqrt(), like)

    def path(self, x0, x1, sigma):
        t = self._timesteps(sigma)
        x_t = self.noise_scheduler.add_noise(x0, x1, t)
        if self.noise_scheduler.config.prediction_type == "epsilon":
            return x_t, t, x1
        return x_t, t, self.noise_scheduler.get_velocity(x0, x1, t)

    def data_prediction(self, x_in, sigma, prediction):
        """``x0`` from the prediction: ``sqrt(a) x_t - sqrt(1 - a) v``, or ``(x_t - sqrt(1 - a) eps) / sqrt(a)``."""
        signal, noise = self._alphas(sigma, x_in)
        if self.noise_scheduler.config.prediction_type == "epsilon":
            return (x_in - noise * prediction) / signal.clamp(min=1e-3)
        return signal * x_in - noise * prediction


class PredictiveObjective(FlowMatchingObjective):
    """One pass, the target itself: the network sees the source sample (``sigma = 1``, the mixture latent for a
    mixture-source model) at timestep 1000 and its output is regressed onto ``x0``. The noise level draw is
    kept (and ignored) so that the random streams match the flow's."""

    def path(self, x0, x1, sigma):
        ones = torch.ones_like(sigma)
        return x1, timestep_from_sigma(ones), x0

    def data_prediction(self, x_in, sigma, prediction):
        return prediction


def _rows(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``(B,)`` -> ``(B, 1, ..., 1)`` in ``like``'s dtype."""
    return values.view(-1, *([1] * (like.dim() - 1))).to(like.dtype)


def make_objective(
    objective: str, source: str, source_noise: float, prediction_type: str = "v_prediction", **options
) -> FlowMatchingObjective:
    """The objective named ``flow``, ``diffusion`` or ``predictive`` for a network with this ``source``;
    ``options`` are [`FlowMatchingObjective`]'s sampling and dropout settings."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective={objective!r}: choose one of {OBJECTIVES}")
    if objective == "diffusion":
        return DiffusionObjective(
            source=source, source_noise=source_noise, prediction_type=prediction_type, **options
        )
    kind = FlowMatchingObjective if objective == "flow" else PredictiveObjective
    return kind(source=source, source_noise=source_noise, **options)
