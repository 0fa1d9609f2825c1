"""What FlowSepPipeline feeds its network: a recording transformer logs every call's timesteps, latents, mixture
latents and conditioning, and answers with a constant velocity, so that the state the ODE should be in at each
call is known in closed form (``x = x1 + (sigma - 1) * v`` on a constant field, for every solver)."""

import numpy as np
import pytest
import torch

from flowsep.flow import NUM_TRAIN_TIMESTEPS
from flowsep.models import FlowSepTransformer
from flowsep.models.transformer_flowsep import FlowSepTransformerOutput
from flowsep.schedulers import make_scheduler, set_sigma_grid
from flowsep.testing import make_tiny_pipeline

VELOCITY = 0.5
STEPS, SHIFT = 3, 3.0


class RecordingTransformer(FlowSepTransformer):
    """Logs the inputs of every call in ``calls`` and predicts the velocity ``VELOCITY`` everywhere."""

    def forward(self, hidden_states, mixture_latents, timestep, encoder_hidden_states=None,
                encoder_attention_mask=None, text_dropout_mask=None, **kwargs):  # fmt: skip
        self.calls.append({
            "timestep": timestep.detach().clone(), "latents": hidden_states.detach().clone(),
            "mixture_latents": mixture_latents.detach().clone(), "states": encoder_hidden_states.detach().clone(),
            "mask": encoder_attention_mask.detach().clone(), "drop": text_dropout_mask.detach().clone(),
        })  # fmt: skip
        return FlowSepTransformerOutput(sample=torch.full_like(hidden_states, VELOCITY))


def recording_pipe(**config):
    pipe = make_tiny_pipeline(seed=0)
    pipe.transformer = RecordingTransformer(**{**pipe.transformer.config, **config})
    pipe.transformer.calls = []
    return pipe


def grid(solver: str) -> torch.Tensor:
    """The timesteps a fresh scheduler of ``solver`` visits in ``STEPS`` steps on the default (uniform) grid."""
    scheduler = make_scheduler(solver, shift=SHIFT)
    set_sigma_grid(scheduler, STEPS)
    return scheduler.timesteps.float()


def mixture(pipe, windows: int = 1) -> np.ndarray:
    wave = np.random.default_rng(0).standard_normal(windows * pipe.segment_samples).astype(np.float32)
    return 0.1 * wave


@pytest.mark.parametrize("solver", ["euler", "heun", "midpoint"])
def test_calls_follow_the_scheduler_grid_in_its_units_and_the_state_matches(solver):
    """Guards against an extra (or missing) solver step, a timestep in sigma units (0-1) instead of the
    scheduler's 0-1000, a timestep one step off the latents it is paired with, and ``out.nfe`` counting other
    than the network's evaluations."""
    pipe = recording_pipe()
    pipe.scheduler = make_scheduler(solver, shift=SHIFT)
    noise = pipe.prepare_latents(1, torch.float32, "cpu", torch.Generator().manual_seed(3))
    out = pipe("a dog barking", mixture(pipe), sample_rate=16000, num_inference_steps=STEPS, latents=noise,
               output_type="latent")  # fmt: skip
    calls, expected = pipe.transformer.calls, grid(solver)
    assert len(calls) == len(expected) == {"euler": 3, "heun": 5, "midpoint": 6}[solver]
    assert out.nfe == len(calls)
    timesteps = torch.stack([call["timestep"][0] for call in calls]).float()
    torch.testing.assert_close(timesteps, expected)
    assert float(timesteps[0]) == NUM_TRAIN_TIMESTEPS  # the first call is at the source, sigma = 1
    for call in calls:  # on a constant field the state at sigma is x1 + (sigma - 1) * v
        sigma = float(call["timestep"][0]) / NUM_TRAIN_TIMESTEPS
        torch.testing.assert_close(call["latents"], noise + (sigma - 1.0) * VELOCITY, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.audios[0], noise[0] - VELOCITY, rtol=1e-5, atol=1e-5)


def test_conditioning_reaches_every_call_and_guidance_doubles_the_batch():
    """Guards against the query's text states, their mask or the mixture latent not reaching the network (or
    reaching only the first step), the null-text rows of classifier-free guidance being the wrong half, and
    ``out.nfe`` not counting both halves."""
    pipe = recording_pipe()
    wave = mixture(pipe)
    states, mask = pipe.encode_prompt("a dog barking", "cpu")  # (1, L, E), (1, L)
    levelled, _ = pipe.codec.level(torch.from_numpy(wave))
    mixture_latents, _ = pipe.codec.encode(levelled[None])  # (1, C, T, F)
    out = pipe("a dog barking", wave, sample_rate=16000, num_inference_steps=2, guidance_scale=3.0,
               output_type="latent")  # fmt: skip
    calls = pipe.transformer.calls
    assert len(calls) == 2 and out.nfe == 4
    for call in calls:
        assert call["latents"].shape[0] == 2  # the conditional row, then the null-text row
        torch.testing.assert_close(call["latents"][0], call["latents"][1])
        assert call["drop"].tolist() == [False, True]
        torch.testing.assert_close(call["states"], states.expand(2, -1, -1))
        assert torch.equal(call["mask"], mask.expand(2, -1))
        torch.testing.assert_close(call["mixture_latents"], mixture_latents.expand(2, -1, -1, -1))
        assert call["timestep"].shape == (2,) and call["timestep"][0] == call["timestep"][1]


def test_each_query_and_window_gets_its_own_rows_and_nfe_is_per_item():
    """Two queries on a two-window mixture, one window per batch: four batches of ``STEPS`` calls; each call's
    text states are its query's. Guards against rows paired with another query, windows sharing a mixture
    latent, and ``out.nfe`` summed over batches instead of per item."""
    pipe = recording_pipe()
    queries = ["a dog barking", "rain falling on a roof"]
    states, _ = pipe.encode_prompt(queries, "cpu")
    out = pipe(queries, mixture(pipe, windows=2), sample_rate=16000, num_inference_steps=STEPS,
               window_batch_size=1, window_overlap=0.0, output_type="latent")  # fmt: skip
    calls = pipe.transformer.calls
    assert len(calls) == 4 * STEPS and out.nfe == STEPS
    batches = [calls[i : i + STEPS] for i in range(0, len(calls), STEPS)]
    for number, batch in enumerate(batches):
        query = number // 2  # item 0's two windows, then item 1's
        for call in batch:
            torch.testing.assert_close(call["states"][0], states[query])
            torch.testing.assert_close(call["mixture_latents"], batch[0]["mixture_latents"])
    assert not torch.allclose(batches[0][0]["mixture_latents"], batches[1][0]["mixture_latents"])


@pytest.mark.parametrize("source_noise", [0.0, 0.3])
def test_a_mixture_source_starts_at_the_mixture_latent_plus_scaled_noise(source_noise):
    """Guards against a mixture-source model started from plain noise (or without its ``source_noise``
    scale): the first call sees ``mixture_latents + source_noise * noise`` at the source timestep."""
    pipe = recording_pipe(source="mixture", source_noise=source_noise)
    noise = pipe.prepare_latents(1, torch.float32, "cpu", torch.Generator().manual_seed(5))
    pipe("a dog barking", mixture(pipe), sample_rate=16000, num_inference_steps=2, latents=noise,
         output_type="latent")  # fmt: skip
    first = pipe.transformer.calls[0]
    assert float(first["timestep"][0]) == NUM_TRAIN_TIMESTEPS
    expected = first["mixture_latents"] + source_noise * noise
    torch.testing.assert_close(first["latents"], expected, rtol=1e-6, atol=1e-6)
