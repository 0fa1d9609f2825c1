"""The diffusion and predictive objectives beside the flow: known answers for their losses and samplers, and tiny
models of each that train, assemble, load and run through `FlowSepPipeline` and `flowsep separate`.

Expected values follow DDPM's conventions (``x_t = sqrt(a) x0 + sqrt(1 - a) x1``, ``v = sqrt(a) x1 - sqrt(1 - a)
x0``) with ``a`` read from diffusers' own `DDPMScheduler` on the documented schedule, not from the code under test.
"""

import pytest
import torch
from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    FlowMatchEulerDiscreteScheduler,
)
from test_known_answers_flow import SHAPE, latents, run_objective
from test_mel_codec import train_mel
from test_training import corpus, data_overrides  # noqa: F401 (the corpus fixture)

from flowsep import FlowSepPipeline, UsageError
from flowsep.choices import SCHEDULER_FAMILIES, SOLVER_FAMILIES
from flowsep.cli import main as cli
from flowsep.schedulers import (
    DIFFUSION_SCHEDULE,
    FAMILIES,
    PredictiveScheduler,
    config_of,
    make_scheduler,
    solvers_for,
)
from flowsep.training import DiffusionObjective, PredictiveObjective

ALPHAS = DDPMScheduler(**DIFFUSION_SCHEDULE).alphas_cumprod  # (1000,) a_t


class OracleDiffusion(torch.nn.Module):
    """Knows ``x0``: returns ``sign`` times the true v (or epsilon) for the input ``x_t`` at integer timestep t."""

    def __init__(self, x0: torch.Tensor, prediction_type: str = "v_prediction", sign: float = 1.0):
        super().__init__()
        self.x0, self.prediction_type, self.sign = x0, prediction_type, sign

    def forward(self, x, mixture, timestep, encoder_hidden_states, encoder_attention_mask, text_dropout_mask):
        self.timestep = timestep
        a = ALPHAS[timestep.long()].view(-1, 1, 1, 1)
        x1 = (x - a.sqrt() * self.x0) / (1 - a).sqrt()
        truth = x1 if self.prediction_type == "epsilon" else a.sqrt() * x1 - (1 - a).sqrt() * self.x0
        return type("Out", (), {"sample": self.sign * truth})()


class TargetOracle(torch.nn.Module):
    """A predictive oracle: returns ``sign * x0`` and records its inputs."""

    def __init__(self, x0: torch.Tensor, sign: float = 1.0):
        super().__init__()
        self.x0, self.sign = x0, sign

    def forward(self, x, mixture, timestep, encoder_hidden_states, encoder_attention_mask, text_dropout_mask):
        self.x, self.timestep = x, timestep
        return type("Out", (), {"sample": self.sign * self.x0})()


def test_schedule_ends_at_the_source():
    """Zero terminal SNR: the last timestep holds no signal, so x_999 is the source sample itself."""
    assert float(ALPHAS[-1]) == 0.0 and float(ALPHAS[0]) > 0.99
    objective = DiffusionObjective(source="mixture", source_noise=0.0, source_sigma_prob=1.0)
    out = run_objective(OracleDiffusion(latents(1)), objective)
    torch.testing.assert_close(out.x_sigma, latents(2))  # run_objective's mixture latent


@pytest.mark.parametrize("prediction_type", ["v_prediction", "epsilon"])
def test_diffusion_loss_is_zero_for_an_oracle_and_large_for_a_sign_flipped_one(prediction_type):
    x0 = latents(1)
    objective = DiffusionObjective(prediction_type=prediction_type)  # noise source, uniform timesteps
    perfect = run_objective(OracleDiffusion(x0, prediction_type), objective)
    flipped = run_objective(OracleDiffusion(x0, prediction_type, sign=-1.0), objective)
    assert float(perfect.loss) < 1e-8
    assert float(flipped.loss) > 1.0  # 4 E[target^2]: 4 for epsilon and for v (unit-variance x0 and x1)
    timesteps = OracleDiffusion(x0, prediction_type)
    run_objective(timesteps, objective)
    assert timesteps.timestep.dtype == torch.long and 0 <= int(timesteps.timestep.min())
    assert int(timesteps.timestep.max()) <= 999 and len(set(timesteps.timestep.tolist())) > SHAPE[0] // 2


@pytest.mark.parametrize("prediction_type", ["v_prediction", "epsilon"])
def test_diffusion_data_prediction_of_an_oracle_is_the_target(prediction_type):
    """Guards both readouts of x0 (v: sqrt(a) x_t - sqrt(1 - a) v; epsilon: (x_t - sqrt(1 - a) eps) / sqrt(a)).
    Epsilon cannot recover x0 where the schedule holds no signal (a -> 0), so it is checked where a > 0.01."""
    x0 = latents(1)
    objective = DiffusionObjective(source="mixture", source_noise=0.5, prediction_type=prediction_type)
    out = run_objective(OracleDiffusion(x0, prediction_type), objective)
    signal = ALPHAS[(out.sigma * 999).round().long()] > 0.01
    assert signal.sum() >= SHAPE[0] // 2
    torch.testing.assert_close(out.predicted_target[signal], x0[signal], atol=1e-4, rtol=1e-4)


def test_diffusion_objective_passes_the_flows_options_on_and_names_a_bad_prediction_type():
    objective = DiffusionObjective("logit_normal", 0.5, 2.0, 0.0, "mixture", 0.25, prediction_type="epsilon")
    assert (objective.timestep_sampling, objective.logit_mean, objective.logit_std) == (
        "logit_normal",
        0.5,
        2.0,
    )
    assert (objective.source, objective.source_noise) == ("mixture", 0.25)
    assert objective.noise_scheduler.config.prediction_type == "epsilon"
    with pytest.raises(
        ValueError, match=r"^prediction_type='sample': choose one of \('v_prediction', 'epsilon'\)"
    ):
        DiffusionObjective(prediction_type="sample")


def test_predictive_objective_sees_the_source_at_timestep_1000_and_regresses_the_target():
    x0 = latents(1)
    model = TargetOracle(x0)
    out = run_objective(model, PredictiveObjective(source="mixture", source_noise=0.0))
    torch.testing.assert_close(model.x, latents(2))  # the mixture latent, as the flow's sigma = 1
    assert torch.equal(model.timestep, torch.full((SHAPE[0],), 1000.0))
    assert float(out.loss) == 0.0 and torch.equal(out.predicted_target, x0)
    flipped = run_objective(TargetOracle(x0, sign=-1.0), PredictiveObjective())
    assert float(flipped.loss) == pytest.approx(4 * float(x0.pow(2).mean()), rel=1e-5)


def linear_denoiser_output(scheduler, x: torch.Tensor, t: int, gain: float) -> torch.Tensor:
    """v of a denoiser whose data estimate is ``gain * x``: ``v = sqrt(a) eps - sqrt(1 - a) x0_hat``."""
    a = ALPHAS[t]
    x0_hat = gain * x
    eps = (x - a.sqrt() * x0_hat) / (1 - a).sqrt()
    return a.sqrt() * eps - (1 - a).sqrt() * x0_hat


@pytest.mark.parametrize("solver", ["ddim", "dpmsolver++"])
def test_one_step_of_a_linear_denoiser_returns_its_data_estimate(solver):
    scheduler = make_scheduler(solver, base_config={"prediction_type": "v_prediction"})
    scheduler.set_timesteps(1)
    assert scheduler.timesteps.tolist() == [999]  # trailing spacing: the one step starts at the source
    x = torch.randn(2, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    out = scheduler.step(linear_denoiser_output(scheduler, x, 999, 0.3), 999, x).prev_sample
    # diffusers' DPM-Solver++ keeps a_999 at 2**-24 (not 0) to stay finite: x0 = 2**-12 x_t + 0.3 x
    torch.testing.assert_close(out, 0.3 * x, atol=1e-3 if solver == "dpmsolver++" else 1e-6, rtol=0)


def test_two_ddim_steps_of_a_linear_denoiser_match_the_closed_form():
    """t = 999 -> 499 -> 0: x_499 = sqrt(a) g x + sqrt(1 - a) x (eps = x at the source), then g x_499."""
    scheduler = make_scheduler("ddim", base_config={"prediction_type": "v_prediction"})
    scheduler.set_timesteps(2)
    assert scheduler.timesteps.tolist() == [999, 499]
    x = torch.randn(2, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    sample = x
    for t in scheduler.timesteps.tolist():
        sample = scheduler.step(linear_denoiser_output(scheduler, sample, t, 0.3), t, sample).prev_sample
    a = ALPHAS[499]
    torch.testing.assert_close(sample, 0.3 * (a.sqrt() * 0.3 + (1 - a).sqrt()) * x, atol=1e-6, rtol=1e-5)


def test_solvers_stay_within_the_models_family():
    ddim = make_scheduler(None, base_config=config_of(DDIMScheduler()))
    assert isinstance(ddim, DDIMScheduler) and ddim.config.prediction_type == "epsilon"  # kept from the base
    dpm = make_scheduler("dpmsolver++", base_config=config_of(ddim))
    assert isinstance(dpm, DPMSolverMultistepScheduler) and dpm.config.algorithm_type == "dpmsolver++"
    assert solvers_for(config_of(dpm)) == ("dpmsolver++", "ddim")
    with pytest.raises(UsageError, match="this diffusion model takes ddim, dpmsolver"):
        make_scheduler("euler", base_config=config_of(ddim))
    with pytest.raises(UsageError, match="shift applies to flow models only"):
        make_scheduler("ddim", 3.0, config_of(ddim))
    flow = make_scheduler(None, 3.0, config_of(make_scheduler("euler")))
    assert flow.config.shift == 3.0 and solvers_for(config_of(flow))[0] == "euler"
    one_pass = make_scheduler(None, base_config=config_of(PredictiveScheduler()))
    one_pass.set_timesteps(50)
    assert one_pass.timesteps.tolist() == [1000.0]


def test_predictive_scheduler_returns_the_output_in_the_samples_dtype():
    """One pass: the network's output is the sample, cast to the sample's dtype (a half-precision network on a
    float32 latent); its length is the training timesteps', as diffusers' schedulers report."""
    scheduler = PredictiveScheduler(num_train_timesteps=500)
    scheduler.set_timesteps()
    assert scheduler.timesteps.tolist() == [500.0] and len(scheduler) == 500
    output = torch.full((1, 1, 2, 2), 0.5, dtype=torch.float16)
    prev = scheduler.step(output, scheduler.timesteps[0], torch.zeros(1, 1, 2, 2)).prev_sample
    assert prev.dtype == torch.float32 and torch.equal(prev, output.float())
    (tupled,) = scheduler.step(output, scheduler.timesteps[0], torch.zeros(1, 1, 2, 2), return_dict=False)
    assert torch.equal(tupled, prev)


@pytest.fixture(scope="module")
def test_solver_names_the_cli_reads_match_the_scheduler_classes():
    """`flowsep.choices` (read before torch loads) names the classes `flowsep.schedulers` samples with."""
    for family, solvers in FAMILIES.items():
        assert tuple(solvers) == SOLVER_FAMILIES[family]
        assert all(SCHEDULER_FAMILIES[cls.__name__] == family for cls in solvers.values())
    assert FlowMatchEulerDiscreteScheduler.__name__ in SCHEDULER_FAMILIES


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory, corpus):  # noqa: F811
    """A 2-step diffusion and predictive run of the mini-mel recipe, each assembled into a pipeline folder."""
    root = tmp_path_factory.mktemp("objectives")
    small = {
        **data_overrides(corpus), "data.segment_seconds": 0.32, "model.sample_size": 32, "model.num_layers": 1,
        "model.num_attention_heads": 2, "model.attention_head_dim": 16, "model.text_embed_dim": 32,
        "flow.text_encoder": corpus["text_encoder"], "trainer.batch_size": 2, "trainer.max_steps": 2,
        "trainer.validation_steps": 2, "trainer.validation_batches": 1, "trainer.checkpointing_steps": 2,
    }  # fmt: skip
    folders = {}
    for objective in ("diffusion", "predictive"):
        run = train_mel("flow.yaml", root / objective, {**small, "flow.objective": objective})
        parts = {
            "assemble.transformer": str(run), "assemble.text_encoder": corpus["text_encoder"],
            "assemble.scheduler": None, "data.train": corpus["data.train"],
        }  # fmt: skip
        folders[objective] = train_mel("assemble.yaml", root / f"{objective}-pipeline", parts)
    return folders


def separate_args(mixture, model, output, *options: str) -> list[str]:
    """`flowsep separate` of "beep" from ``mixture`` with ``model`` into ``output``."""
    return ["separate", str(mixture), "-q", "beep", "--model", str(model), "-o", str(output), *options]


def test_tiny_diffusion_model_trains_loads_and_runs_through_the_pipeline_and_the_cli(
    tiny_models, mixture_wav, tmp_path, capsys
):
    pipe = FlowSepPipeline.from_pretrained(tiny_models["diffusion"])
    assert (
        isinstance(pipe.scheduler, DDIMScheduler) and pipe.scheduler.config.prediction_type == "v_prediction"
    )
    pipe.set_progress_bar_config(disable=True)
    out = pipe("a steady high beep", str(mixture_wav), num_inference_steps=3, output_type="pt")
    assert out.nfe == 3 and out.audios.shape == (1, 24000) and torch.isfinite(out.audios).all()
    for solver in ("ddim", "dpmsolver++"):
        written = tmp_path / f"{solver}.wav"
        assert (
            cli(
                separate_args(
                    mixture_wav, tiny_models["diffusion"], written, "--steps", "2", "--solver", solver
                )
            )
            == 0
        )
        assert written.stat().st_size > 1000
    wrong = tmp_path / "euler.wav"
    assert cli(separate_args(mixture_wav, tiny_models["diffusion"], wrong, "--solver", "euler")) == 2
    assert not wrong.exists()
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.endswith("is a diffusion model, sampled by ddim, dpmsolver++") and "Loading" not in error


def test_tiny_predictive_model_makes_one_pass_through_the_pipeline_and_the_cli(
    tiny_models, mixture_wav, tmp_path
):
    pipe = FlowSepPipeline.from_pretrained(tiny_models["predictive"])
    assert isinstance(pipe.scheduler, PredictiveScheduler)
    pipe.set_progress_bar_config(disable=True)
    out = pipe("a steady high beep", str(mixture_wav), num_inference_steps=10, output_type="pt")
    assert out.nfe == 1 and torch.isfinite(out.audios).all() and float(out.audios.abs().max()) > 0
    written = tmp_path / "target.wav"
    assert cli(separate_args(mixture_wav, tiny_models["predictive"], written)) == 0
    assert written.stat().st_size > 1000
