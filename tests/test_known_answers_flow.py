"""Known answers for the flow: the objective against a perfect model, both flow sources, noise levels and text
dropout, and every solver against an ODE with a closed-form solution (orders of accuracy, shift).

The expected values here are written from the conventions (``x_sigma = (1 - sigma) x0 + sigma x1``,
``v = x1 - x0``, timesteps ``sigma * 1000``), not recomputed with the functions under test.
"""

import math

import pytest
import torch

from flowsep.errors import UsageError
from flowsep.flow import interpolate, sample_sigmas, source_sample, timestep_from_sigma, velocity
from flowsep.schedulers import FlowMatchMidpointScheduler, make_scheduler, set_sigma_grid
from flowsep.training import FlowMatchingObjective

SHAPE = (64, 4, 8, 8)  # (B, C, T, F): 16,384 values, enough for statistics to 1 %


class OracleVelocity(torch.nn.Module):
    """Knows the target ``x0``: returns ``sign * (x_sigma - x0) / sigma``, the true velocity for ``sign = 1``."""

    def __init__(self, x0: torch.Tensor, sign: float = 1.0):
        super().__init__()
        self.x0, self.sign = x0, sign

    def forward(self, x, mixture, timestep, encoder_hidden_states, encoder_attention_mask, text_dropout_mask):
        sigma = (timestep / 1000.0).view(-1, 1, 1, 1)
        self.inputs = {"x": x, "mixture": mixture, "sigma": sigma.flatten(), "drop": text_dropout_mask,
                       "states": encoder_hidden_states, "mask": encoder_attention_mask}  # fmt: skip
        return type("Out", (), {"sample": self.sign * (x - self.x0) / sigma})()


def latents(seed: int) -> torch.Tensor:
    return torch.randn(SHAPE, generator=torch.Generator().manual_seed(seed))


def run_objective(model, objective, seed=0, **kwargs):
    x0, mix = latents(1), latents(2)
    states, mask = torch.zeros(SHAPE[0], 3, 32), torch.ones(SHAPE[0], 3, dtype=torch.long)
    return objective(model, x0, mix, states, mask, generator=torch.Generator().manual_seed(seed), **kwargs)


def start_of_path(model: OracleVelocity) -> torch.Tensor:
    """The source sample ``x1`` the objective used, read back from ``x_sigma`` and ``sigma``."""
    sigma = model.inputs["sigma"].view(-1, 1, 1, 1)
    return (model.inputs["x"] - (1 - sigma) * model.x0) / sigma


# ---------------------------------------------------------------- flow conventions


def test_path_and_velocity_follow_the_convention():
    x0, x1 = torch.full((2, 3), 2.0), torch.full((2, 3), -4.0)
    sigma = torch.tensor([0.25, 1.0])
    expected = torch.tensor([[0.5] * 3, [-4.0] * 3])  # 0.75 * 2 + 0.25 * (-4); sigma 1 is the source
    torch.testing.assert_close(interpolate(x0, x1, sigma), expected)
    torch.testing.assert_close(velocity(x0, x1), torch.full((2, 3), -6.0))
    torch.testing.assert_close(timestep_from_sigma(torch.tensor([0.25, 1.0])), torch.tensor([250.0, 1000.0]))


def test_sources_are_the_noise_or_the_mixture_plus_scaled_noise():
    noise, mixture = torch.full((2, 2), 3.0), torch.full((2, 2), 10.0)
    torch.testing.assert_close(source_sample(noise, mixture, "noise", 0.5), noise)
    torch.testing.assert_close(source_sample(noise, mixture, "mixture", 0.5), torch.full((2, 2), 11.5))
    torch.testing.assert_close(source_sample(noise, mixture, "mixture"), torch.full((2, 2), 13.0))
    with pytest.raises(ValueError, match="unknown flow source 'silence'"):
        source_sample(noise, mixture, "silence")


def test_uniform_noise_levels_cover_zero_to_one():
    sigma = sample_sigmas(20_000, "uniform", torch.Generator().manual_seed(0))
    assert abs(sigma.mean().item() - 0.5) < 0.01
    assert abs(sigma.std().item() - math.sqrt(1 / 12)) < 0.01
    assert sigma.max().item() > 0.99
    assert sigma.min().item() < 0.01
    assert sigma.min().item() >= 1e-5


def test_logit_normal_noise_levels_have_the_stated_median_and_spread():
    sigma = sample_sigmas(
        20_000, "logit_normal", torch.Generator().manual_seed(0), logit_mean=1.0, logit_std=0.5
    )
    logits = torch.log(sigma / (1 - sigma))
    assert abs(sigma.median().item() - 1 / (1 + math.exp(-1.0))) < 0.01  # sigmoid(1) = 0.731
    assert abs(logits.std().item() - 0.5) < 0.01
    assert sigma.max().item() <= 1.0
    with pytest.raises(ValueError, match="unknown timestep sampling scheme 'cosine'"):
        sample_sigmas(4, "cosine")


def test_noise_levels_are_reproducible_from_the_seed_with_the_stated_defaults():
    """Defaults: uniform; logit-normal with mean 0 and std 1 (SD3's)."""
    uniform = torch.rand(8, generator=torch.Generator().manual_seed(3)).clamp(1e-5, 1.0)
    torch.testing.assert_close(sample_sigmas(8, generator=torch.Generator().manual_seed(3)), uniform)
    expected = torch.sigmoid(torch.randn(8, generator=torch.Generator().manual_seed(3)))
    torch.testing.assert_close(sample_sigmas(8, "logit_normal", torch.Generator().manual_seed(3)), expected)
    expected = torch.sigmoid(1.0 + 0.5 * torch.randn(8, generator=torch.Generator().manual_seed(3)))
    got = sample_sigmas(8, "logit_normal", torch.Generator().manual_seed(3), logit_mean=1.0, logit_std=0.5)
    torch.testing.assert_close(got, expected)


def test_a_share_of_rows_at_the_source_is_drawn_after_the_levels_from_the_same_generator():
    """``source_prob = p``: the levels as without it, then a second uniform draw puts rows below ``p`` at 1."""
    generator = torch.Generator().manual_seed(5)
    levels = torch.rand(20_000, generator=generator).clamp(1e-5, 1.0)
    at_source = torch.rand(20_000, generator=generator) < 0.3
    expected = torch.where(at_source, torch.ones_like(levels), levels)
    got = sample_sigmas(20_000, "uniform", torch.Generator().manual_seed(5), source_prob=0.3)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    assert abs((got == 1.0).float().mean().item() - 0.3) < 0.01
    assert abs(got[got < 1.0].mean().item() - 0.5) < 0.01  # the other rows stay uniform
    plain = sample_sigmas(64, "uniform", torch.Generator().manual_seed(5), source_prob=0.0)
    torch.testing.assert_close(plain, levels[:64].clone(), rtol=0, atol=0)  # p = 0 draws nothing more


def test_path_keeps_a_half_precision_dtype():
    x0, x1 = torch.ones(2, 3, dtype=torch.bfloat16), torch.zeros(2, 3, dtype=torch.bfloat16)
    out = interpolate(x0, x1, torch.tensor([0.25, 0.5]))
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), torch.tensor([[0.75] * 3, [0.5] * 3]))


def test_tiny_noise_levels_are_clamped_to_the_floor():
    sigma = sample_sigmas(50_000, "logit_normal", torch.Generator().manual_seed(0), logit_mean=-12.0)
    assert sigma.min().item() == pytest.approx(1e-5)
    assert sigma.max().item() < 1e-3


# ---------------------------------------------------------------- objective


@pytest.mark.parametrize("scheme", ["uniform", "logit_normal"])
def test_perfect_model_has_zero_loss_and_the_sign_flipped_one_a_large_loss(scheme):
    x0 = latents(1)
    perfect = run_objective(OracleVelocity(x0), FlowMatchingObjective(scheme))
    flipped = run_objective(OracleVelocity(x0, sign=-1.0), FlowMatchingObjective(scheme))
    assert perfect.loss.item() < 1e-6
    # v = x1 - x0 with x1, x0 independent N(0, 1): E|v|^2 = 2, and the flipped prediction misses by 2 v.
    assert abs(flipped.loss.item() - 8.0) < 0.3


def test_noise_source_starts_from_unit_gaussian_noise():
    model = OracleVelocity(latents(1))
    out = run_objective(model, FlowMatchingObjective(source="noise"))
    x1 = start_of_path(model)
    assert abs(x1.std().item() - 1.0) < 0.02
    assert abs(x1.mean().item()) < 0.02
    assert abs((x1 * model.x0).mean().item()) < 0.03  # independent of the target
    torch.testing.assert_close(model.inputs["mixture"], latents(2))  # the network still sees the mixture
    assert out.loss.item() < 1e-6


def test_mixture_source_starts_from_the_mixture_plus_scaled_noise():
    model = OracleVelocity(latents(1))
    out = run_objective(model, FlowMatchingObjective(source="mixture", source_noise=0.5))
    residual = start_of_path(model) - latents(2)
    assert abs(residual.std().item() - 0.5) < 0.01
    assert abs(residual.mean().item()) < 0.01
    assert out.loss.item() < 1e-6
    # A model that ignores the mixture and predicts noise-source velocities misses by the mixture latent.
    exact = FlowMatchingObjective(source="mixture", source_noise=0.0)
    model = OracleVelocity(latents(1))
    run_objective(model, exact)
    torch.testing.assert_close(start_of_path(model), latents(2), rtol=1e-4, atol=1e-4)


def test_objective_noise_levels_and_timesteps_match():
    model = OracleVelocity(latents(1))
    out = run_objective(model, FlowMatchingObjective("uniform"))
    torch.testing.assert_close(model.inputs["sigma"], out.sigma)
    assert out.sigma.shape == (SHAPE[0],)
    assert out.sigma.max().item() > 0.9
    assert out.sigma.min().item() < 0.1
    torch.testing.assert_close(out.prediction, model.forward(
        model.inputs["x"], None, out.sigma * 1000, None, None, None
    ).sample)  # fmt: skip


def test_objective_puts_its_share_of_rows_at_the_source_and_returns_the_point_on_the_path():
    model = OracleVelocity(latents(1))
    objective = FlowMatchingObjective(source="mixture", source_noise=0.0, source_sigma_prob=0.5)
    out = run_objective(model, objective, seed=7)
    reference = torch.Generator().manual_seed(7)
    torch.randn(SHAPE, generator=reference)
    expected = sample_sigmas(SHAPE[0], generator=reference, source_prob=0.5)
    torch.testing.assert_close(out.sigma, expected, rtol=0, atol=0)
    assert 0.3 < (out.sigma == 1.0).float().mean().item() < 0.7  # 64 rows: 0.5 +- 3 standard errors
    sigma = out.sigma.view(-1, 1, 1, 1)
    torch.testing.assert_close(out.x_sigma, (1 - sigma) * latents(1) + sigma * latents(2))
    assert out.x_sigma is model.inputs["x"]


def test_objective_draws_noise_levels_and_dropout_from_its_generator_in_order():
    """A step is reproducible from its seed: noise, then noise levels, then the dropout draw, all from it."""
    x0 = latents(1)
    states, mask = torch.randn(SHAPE[0], 3, 32), torch.ones(SHAPE[0], 3, dtype=torch.long)
    model = OracleVelocity(x0)
    objective = FlowMatchingObjective("logit_normal", logit_mean=0.5, logit_std=2.0, text_dropout=0.4)
    out = objective(model, x0, latents(2), states, mask, generator=torch.Generator().manual_seed(5))
    reference = torch.Generator().manual_seed(5)
    noise = torch.randn(SHAPE, generator=reference)
    sigma = torch.sigmoid(0.5 + 2.0 * torch.randn(SHAPE[0], generator=reference)).clamp(1e-5, 1.0)
    drop = torch.rand(SHAPE[0], generator=reference) < 0.4
    torch.testing.assert_close(out.sigma, sigma)
    assert torch.equal(model.inputs["drop"], drop)
    torch.testing.assert_close(start_of_path(model), noise, rtol=1e-3, atol=1e-3)
    assert model.inputs["states"] is states
    assert model.inputs["mask"] is mask


def test_objective_defaults_are_uniform_levels_and_unit_source_noise():
    model = OracleVelocity(latents(1))
    run_objective(model, FlowMatchingObjective(source="mixture"), seed=4)
    assert abs((start_of_path(model) - latents(2)).std().item() - 1.0) < 0.02
    out = run_objective(OracleVelocity(latents(1)), FlowMatchingObjective(), seed=4)
    reference = torch.Generator().manual_seed(4)
    torch.randn(SHAPE, generator=reference)
    torch.testing.assert_close(out.sigma, torch.rand(SHAPE[0], generator=reference))
    out = run_objective(OracleVelocity(latents(1)), FlowMatchingObjective("logit_normal"), seed=4)
    reference = torch.Generator().manual_seed(4)
    torch.randn(SHAPE, generator=reference)
    torch.testing.assert_close(out.sigma, torch.sigmoid(torch.randn(SHAPE[0], generator=reference)))


def test_objective_keeps_half_precision_latents():
    x0 = latents(1).bfloat16()
    model = OracleVelocity(x0)
    states, mask = torch.zeros(SHAPE[0], 3, 32), torch.ones(SHAPE[0], 3, dtype=torch.long)
    FlowMatchingObjective()(
        model, x0, latents(2).bfloat16(), states, mask, generator=torch.Generator().manual_seed(0)
    )
    assert model.inputs["x"].dtype == torch.bfloat16


@pytest.mark.parametrize("p", [0.1, 0.3])
def test_seeded_text_dropout_drops_about_p_of_the_rows(p):
    x0 = torch.zeros(4000, 1, 1, 1)
    states, mask = torch.zeros(4000, 1, 8), torch.ones(4000, 1, dtype=torch.long)
    model = OracleVelocity(x0)
    FlowMatchingObjective(text_dropout=p)(
        model, x0, x0, states, mask, generator=torch.Generator().manual_seed(0)
    )
    drop = model.inputs["drop"]
    assert drop.dtype == torch.bool
    assert abs(drop.float().mean().item() - p) < 0.025


def test_default_text_dropout_is_the_papers_and_can_be_switched_off():
    x0 = torch.zeros(4000, 1, 1, 1)
    states, mask = torch.zeros(4000, 1, 8), torch.ones(4000, 1, dtype=torch.long)
    model, objective = OracleVelocity(x0), FlowMatchingObjective()
    objective(model, x0, x0, states, mask, generator=torch.Generator().manual_seed(0))
    assert abs(model.inputs["drop"].float().mean().item() - 0.1) < 0.02
    objective(model, x0, x0, states, mask, generator=torch.Generator().manual_seed(0), text_dropout=0.0)
    assert model.inputs["drop"].sum().item() == 0
    objective(model, x0, x0, states, mask, generator=torch.Generator().manual_seed(0), text_dropout=1.0)
    assert model.inputs["drop"].all()


# ---------------------------------------------------------------- solvers


def field(x: torch.Tensor, timestep) -> torch.Tensor:
    """``dx/dsigma = 2 sigma x``: from ``x(1)`` the exact solution at sigma = 0 is ``x(1) / e``."""
    sigma = float(timestep) / 1000.0
    return 2.0 * sigma * x


def solve(scheduler, steps: int, start: float = 1.0) -> float:
    scheduler.set_timesteps(steps)
    x = torch.tensor([start], dtype=torch.float64)
    for t in scheduler.timesteps:
        x = scheduler.step(field(x, t), t, x).prev_sample
    return float(x)


def error(solver: str, steps: int, shift: float = 1.0) -> float:
    return abs(solve(make_scheduler(solver, shift=shift), steps) - math.exp(-1.0))


@pytest.mark.parametrize(
    "solver, order, shift", [("euler", 1, 1.0), ("euler", 1, 3.0), ("heun", 2, 1.0), ("midpoint", 2, 1.0),
                             ("midpoint", 2, 3.0)],
)  # fmt: skip
def test_solvers_converge_to_the_closed_form_with_their_order(solver, order, shift):
    coarse, fine = error(solver, 16, shift), error(solver, 32, shift)
    measured = math.log2(coarse / fine)
    assert abs(measured - order) < 0.25, (solver, shift, coarse, fine)
    assert fine < (0.025 if order == 1 else 4e-4)


def test_heun_with_shift_is_second_order_accurate():
    """(Its error changes sign near 16 steps at shift 3, so the bound is on the error, not on its ratio.)"""
    assert error("heun", 16, shift=3.0) < 1e-4
    assert error("heun", 64, shift=3.0) < 1e-4


@pytest.mark.parametrize(
    "solver, grid, shift, sigmas",
    [
        ("euler", "uniform", 1.0, [1.0, 0.75, 0.5, 0.25, 0.0]),  # the official FlowSep's t = linspace(0, 1, 5)
        ("euler", "uniform", 3.0, [1.0, 0.9, 0.75, 0.5, 0.0]),  # 3 s / (1 + 2 s) at s = 0.75, 0.5, 0.25
        ("euler", "diffusers", 1.0, [1.0, 0.667, 0.334, 0.001, 0.0]),  # linspace(1000, 1, 4) / 1000, then 0
        ("heun", "uniform", 1.0, [1.0, 0.75, 0.75, 0.5, 0.5, 0.25, 0.25, 0.0]),  # inner points visited twice
        ("heun", "diffusers", 1.0, [1.0, 0.667, 0.667, 0.334, 0.334, 0.001, 0.001, 0.0]),
        ("midpoint", "diffusers", 1.0, [1.0, 0.75, 0.5, 0.25, 0.0]),  # uniform whatever the grid
    ],
)  # fmt: skip
def test_sigma_grids_of_four_steps(solver, grid, shift, sigmas):
    scheduler = make_scheduler(solver, shift=shift)
    set_sigma_grid(scheduler, 4, grid)
    torch.testing.assert_close(scheduler.sigmas, torch.tensor(sigmas), rtol=0, atol=1e-6)
    fresh = make_scheduler(solver, shift=shift)
    set_sigma_grid(fresh, 4, "diffusers")
    set_sigma_grid(scheduler, 4, "diffusers")  # a uniform grid leaves nothing behind (Heun's end point)
    torch.testing.assert_close(scheduler.sigmas, fresh.sigmas)


def test_an_unknown_sigma_grid_is_refused():
    with pytest.raises(UsageError, match="unknown sigma grid 'karras'"):
        set_sigma_grid(make_scheduler("euler"), 4, "karras")


def test_midpoint_schedule_has_shifted_points_and_midpoints():
    scheduler = FlowMatchMidpointScheduler(shift=3.0)
    scheduler.set_timesteps(2)
    # shift * s / (1 + (shift - 1) * s) at s = 0.5: 1.5 / 2 = 0.75; midpoints halfway between the points
    torch.testing.assert_close(scheduler.sigmas, torch.tensor([1.0, 0.75, 0.0]))
    torch.testing.assert_close(scheduler.timesteps, torch.tensor([1000.0, 875.0, 750.0, 375.0]))
    assert scheduler.step_index == 0
    assert scheduler.num_inference_steps == 2
    assert scheduler.init_noise_sigma == 1.0
    assert scheduler.order == 2
    assert len(scheduler) == 1000


def test_midpoint_step_uses_the_half_step_and_the_midpoint_velocity():
    """One interval from sigma 1 to 0.5 with velocities 2 (start) and 6 (midpoint): x = 1 - 0.5 * 6."""
    scheduler = FlowMatchMidpointScheduler()
    scheduler.set_timesteps(2)
    x = torch.tensor([1.0])
    half = scheduler.step(torch.tensor([2.0]), scheduler.timesteps[0], x).prev_sample
    torch.testing.assert_close(half, torch.tensor([0.5]))  # 1 + 0.5 * (0.5 - 1) * 2
    assert scheduler.step_index == 1
    full = scheduler.step(torch.tensor([6.0]), scheduler.timesteps[1], half, return_dict=False)[0]
    torch.testing.assert_close(full, torch.tensor([-2.0]))
    assert scheduler.step_index == 2


def test_midpoint_step_keeps_the_samples_dtype():
    scheduler = FlowMatchMidpointScheduler()
    scheduler.set_timesteps(1)
    x = torch.ones(4, dtype=torch.bfloat16)
    half = scheduler.step(torch.full((4,), 0.5), scheduler.timesteps[0], x).prev_sample
    assert half.dtype == torch.bfloat16
    full = scheduler.step(torch.full((4,), 0.5), scheduler.timesteps[1], half).prev_sample
    assert full.dtype == torch.bfloat16
    torch.testing.assert_close(full.float(), torch.full((4,), 0.5))


def test_make_scheduler_keeps_the_shift_and_rejects_unknown_solvers():
    assert make_scheduler("midpoint", base_config={"shift": 2.0, "other": 1}).config.shift == 2.0
    assert make_scheduler("heun", shift=3.0, base_config={"shift": 2.0}).config.shift == 3.0
    assert make_scheduler("euler").config.shift == 1.0
    assert make_scheduler("euler", base_config={"num_train_timesteps": 500}).config.num_train_timesteps == 500
    with pytest.raises(ValueError, match="unknown solver 'rk4'"):
        make_scheduler("rk4")
