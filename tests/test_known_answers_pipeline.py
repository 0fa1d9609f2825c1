"""Known answers through FlowSepPipeline: classifier-free guidance with known velocities, every solver on a
constant field, and sample-rate and level round trips of the mask and vocoder decoders."""

import math

import numpy as np
import pytest
import torch

from flowsep.errors import AudioInputError
from flowsep.models import FlowSepTransformer
from flowsep.models.transformer_flowsep import FlowSepTransformerOutput
from flowsep.schedulers import make_scheduler
from flowsep.testing import make_tiny_pipeline

V_COND, V_UNCOND = 1.0, -2.0


class KnownVelocity(FlowSepTransformer):
    """Velocity ``V_COND`` for rows that keep their text and ``V_UNCOND`` for rows on the null text."""

    def forward(self, hidden_states, mixture_latents, timestep, *args, text_dropout_mask=None, **kwargs):
        drop = (
            torch.zeros(hidden_states.shape[0], dtype=torch.bool)
            if text_dropout_mask is None
            else text_dropout_mask
        )
        value = torch.where(drop, torch.tensor(V_UNCOND), torch.tensor(V_COND)).view(-1, 1, 1, 1)
        return FlowSepTransformerOutput(sample=value.to(hidden_states.dtype).expand_as(hidden_states).clone())


@pytest.fixture(scope="module")
def known_pipe():
    pipe = make_tiny_pipeline(seed=0)
    pipe.transformer = KnownVelocity(**pipe.transformer.config)
    return pipe


def start_noise(pipe) -> torch.Tensor:
    return pipe.prepare_latents(1, torch.float32, "cpu", torch.Generator().manual_seed(7))


@pytest.mark.parametrize("solver", ["euler", "heun", "midpoint"])
@pytest.mark.parametrize("guidance_scale, expected_velocity", [(1.0, 1.0), (3.0, 7.0), (0.0, -2.0)])
def test_guidance_combines_known_velocities(known_pipe, solver, guidance_scale, expected_velocity):
    """``v = v_uncond + g (v_cond - v_uncond)``: -2 + 3 * 3 = 7 at g = 3; a constant field moves the start
    noise by ``-v`` from sigma 1 to 0 whatever the solver."""
    known_pipe.scheduler = make_scheduler(solver, shift=3.0)
    noise = start_noise(known_pipe)
    mixture = np.zeros(known_pipe.segment_samples, np.float32)
    mixture[::7] = 0.1
    out = known_pipe(
        "a dog barking", mixture, sample_rate=16000, num_inference_steps=3, guidance_scale=guidance_scale,
        latents=noise, output_type="latent",
    )  # fmt: skip
    torch.testing.assert_close(out.audios, noise - expected_velocity, rtol=1e-5, atol=1e-5)
    evaluations = {"euler": 3, "heun": 5, "midpoint": 6}[solver]
    assert out.nfe == evaluations * (1 if guidance_scale == 1.0 else 2)


# ---------------------------------------------------------------- round trips


@pytest.fixture(scope="module")
def pass_through_pipe():
    """A pipeline whose VAE decodes every latent to a loud mel: every mask rule then keeps the whole mixture."""
    pipe = make_tiny_pipeline(seed=0)
    decode = pipe.vae.decode

    def loud(latents, *args, **kwargs):
        return type("Decoded", (), {"sample": torch.full_like(decode(latents).sample, 10.0)})()

    pipe.vae.decode = loud
    return pipe


def sine(frequency: float, amplitude: float, samples: int, rate: int) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * frequency * np.arange(samples) / rate)).astype(np.float32)


@pytest.mark.parametrize("rule", ["ratio", "wiener", "binary"])
@pytest.mark.parametrize("amplitude", [0.002, 0.8])
def test_identity_mask_returns_the_input_at_its_level(pass_through_pipe, rule, amplitude):
    """Three windows of a two-tone mixture, quiet or loud: the output is the input sample for sample."""
    samples = 3 * pass_through_pipe.segment_samples + 321
    mixture = sine(440, amplitude, samples, 16000) + sine(2000, amplitude / 2, samples, 16000)
    out = pass_through_pipe(
        "a dog barking", mixture, sample_rate=16000, num_inference_steps=1, mask_rule=rule,
        return_residual=True, window_overlap=0.08,
    )  # fmt: skip
    assert out.sample_rate == 16000
    assert out.audios.shape == (1, samples)
    assert np.abs(out.audios[0] - mixture).max() < 1e-5 * amplitude / 0.002
    assert np.abs(out.residuals[0]).max() < 1e-5 * amplitude / 0.002


def test_other_rates_and_channels_come_back_resampled_and_down_mixed(pass_through_pipe):
    """A stereo 32 kHz input comes back at the model's 16 kHz, as the mono average of its channels."""
    left, right = sine(440, 0.3, 32000, 32000), sine(440, 0.1, 32000, 32000)
    out = pass_through_pipe(
        "a dog barking", np.stack([left, right]), sample_rate=32000, num_inference_steps=1
    )
    assert out.sample_rate == 16000
    assert out.audios.shape == (1, 16000)
    expected = sine(440, 0.2, 16000, 16000)
    assert np.abs(out.audios[0, 200:-200] - expected[200:-200]).max() < 1e-3


def test_vocoder_output_is_brought_back_to_the_input_level():
    """A vocoder that returns 0.1 (the codec's level) everywhere gives ``0.1 / gain``: the input's rms."""
    pipe = make_tiny_pipeline(seed=0)
    pipe.vocoder.forward = lambda mel: torch.full((mel.shape[0], mel.shape[-1] * 160), 0.1)
    mixture = sine(440, 0.02, 2 * pipe.segment_samples, 16000)
    out = pipe("a dog barking", mixture, sample_rate=16000, num_inference_steps=1, decoder="vocoder")
    np.testing.assert_allclose(out.audios[0], 0.02 / math.sqrt(2), rtol=1e-3)


@pytest.mark.parametrize("rate", [0, -8000])
def test_pipeline_refuses_a_bad_sample_rate(known_pipe, rate):
    with pytest.raises(AudioInputError, match="sample_rate must be a positive integer"):
        known_pipe("a dog barking", np.zeros(1000, np.float32), sample_rate=rate, num_inference_steps=1)


@pytest.mark.parametrize("amplitude", [0.002, 0.8])
def test_input_format_returns_the_users_rate_channels_and_level(pass_through_pipe, amplitude):
    """``output_format="input"``: a stereo 32 kHz mixture comes back at 32 kHz in stereo, sample for sample."""
    samples = 2 * 32000 + 77
    left, right = sine(440, amplitude, samples, 32000), sine(3000, amplitude / 2, samples, 32000)
    stereo = np.stack([left, right])
    out = pass_through_pipe(
        "a dog barking", stereo, sample_rate=32000, num_inference_steps=1, output_format="input",
        return_residual=True,
    )  # fmt: skip
    assert out.sample_rate == 32000
    assert out.audios.shape == (1, 2, samples)
    assert np.abs(out.audios[0] - stereo).max() < 1e-5 * amplitude / 0.002
    assert np.abs(out.residuals[0]).max() < 1e-5 * amplitude / 0.002


def test_input_format_vocoder_output_is_resampled_at_the_input_level():
    pipe = make_tiny_pipeline(seed=0)
    pipe.vocoder.forward = lambda mel: torch.full((mel.shape[0], mel.shape[-1] * 160), 0.1)
    mixture = np.stack([sine(440, 0.04, 48000, 48000), sine(440, 0.0, 48000, 48000)])  # mono down-mix: 0.02
    out = pipe(
        "a dog barking", mixture, sample_rate=48000, num_inference_steps=1, decoder="vocoder",
        output_format="input",
    )  # fmt: skip
    assert out.audios.shape == (1, 2, 48000)
    np.testing.assert_allclose(out.audios[0, :, 1000:-1000], 0.02 / math.sqrt(2), rtol=1e-3)
