"""The codec: training and inference encode with the same object; its settings and its frame arithmetic."""

from pathlib import Path

import numpy as np
import pytest
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState
from conftest import noise_mixture, tone

from flowsep.codec import AudioCodec
from flowsep.spectrogram import MelConfig, log_mel_spectrogram, mel_basis
from flowsep.testing import make_tiny_pipeline
from flowsep.training import load_recipe
from flowsep.training.stage_flow import FlowStage

RECIPES = Path(__file__).resolve().parents[1] / "recipes" / "tiny"


def test_pipeline_settings_round_trip_through_the_codec():
    pipe = make_tiny_pipeline()
    codec = pipe.codec
    assert codec.mel == MelConfig() and codec.reference_rms == pipe.config.reference_rms
    assert codec.config == {key: pipe.config[key] for key in codec.config}
    assert AudioCodec.from_config(codec.config).config == codec.config


def test_frame_arithmetic_and_the_three_grids_of_a_window_plan():
    codec = make_tiny_pipeline().codec
    assert (codec.time_factor, codec.latent_frame_samples, codec.segment_samples(8)) == (4, 640, 5120)
    assert codec.latent_frames(5120 + 639) == 8
    plan = codec.window_plan(12_000, 8, 0.08)
    assert plan.overlap == 1280 and all(start % 640 == 0 for start in plan.starts)
    assert plan.starts[-1] + plan.window >= 12_000
    wave = torch.randn(12_000)
    outputs = plan.adders()
    for index, window in enumerate(plan.split(wave)):
        latents = window[: 8 * 640].reshape(1, 8, 640)[..., :16]  # (C, T, F) that follow the window's frames
        outputs.add(index, latents, window[::160][None, :32], window)
    padded = torch.nn.functional.pad(wave, (0, 19 * 640 - 12_000))  # 19 = ceil(12,000 / 640) latent frames
    torch.testing.assert_close(outputs.sample.result(), wave, atol=1e-6, rtol=0)
    torch.testing.assert_close(outputs.latents()[0], padded.reshape(19, 640)[:, :16], atol=1e-6, rtol=0)
    torch.testing.assert_close(outputs.mel.result()[0], padded[::160][: 12_000 // 160 + 1], atol=1e-6, rtol=0)


def test_training_encodes_exactly_as_the_pipeline(tmp_path):
    """The flow stage's latents equal the pipeline's: its codec, and the latent it starts a zero-noise
    mixture-source flow from (a zero-velocity network returns that start unchanged)."""
    pipe = make_tiny_pipeline()
    pipe.vae.save_pretrained(tmp_path / "vae")
    pipe.text_encoder.save_pretrained(tmp_path / "t5")
    pipe.tokenizer.save_pretrained(tmp_path / "t5")
    overrides = {
        "flow.vae": str(tmp_path / "vae"),
        "flow.text_encoder": str(tmp_path / "t5"),
        "model.text_embed_dim": 32,
    }
    stage = FlowStage(load_recipe(RECIPES / "flow.yaml", overrides))
    stage.build_models()
    stage.setup(Accelerator(cpu=True), torch.float32)
    AcceleratorState._reset_state(True)
    GradientState._reset_state()
    mixture = torch.from_numpy(noise_mixture(seconds=0.32)) * torch.tensor([[1.0], [0.2]])  # (2, S)
    inputs = stage.encode({"mixture": mixture, "target": 0.5 * mixture, "caption": ["a dog barking"] * 2})

    expected, _ = pipe.codec.encode(pipe.codec.level(mixture)[0])
    assert torch.equal(inputs["mixture_latents"], expected.float())
    pipe.transformer.register_to_config(source="mixture")
    torch.nn.init.zeros_(pipe.transformer.proj_out.weight)
    torch.nn.init.zeros_(pipe.transformer.proj_out.bias)
    out = pipe(
        ["a dog barking"],
        list(mixture),
        sample_rate=16000,
        num_inference_steps=2,
        output_type="latent",
        source_noise=0.0,
    )
    torch.testing.assert_close(out.audios, inputs["mixture_latents"], atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- per-model front ends


def test_a_folder_without_the_newer_settings_gets_flowsep_defaults():
    config = {
        key: value for key, value in AudioCodec().config.items() if key in ("sample_rate", "reference_rms")
    }
    codec = AudioCodec.from_config(config)
    assert codec.mel == MelConfig() and (codec.normalization, codec.latent_posterior) == ("rms", "mode")
    with pytest.raises(ValueError, match="normalization 'loudness'"):
        AudioCodec(normalization="loudness")
    with pytest.raises(ValueError, match="unknown mel framing 'librosa'"):
        MelConfig(framing="librosa")


def test_tacotron_frames_are_centred_on_multiples_of_the_hop():
    """Frame k is the Hann-windowed DFT magnitude of the signal reflect-padded by n_fft / 2, from sample
    k * hop (numpy's rfft here), through the mel filters and log(clamp(x, 1e-5)); BigVGAN's frames sit half a
    hop later, so away from the edges they are the Tacotron frames of the signal less its first 80 samples."""
    wave = torch.from_numpy(noise_mixture(seconds=0.5)).double()
    config, hop = MelConfig(framing="tacotron"), 160
    padded = np.pad(wave.numpy(), 512, mode="reflect")
    window = np.hanning(1025)[:-1]  # periodic Hann of 1024
    frames = np.stack([np.abs(np.fft.rfft(padded[k * hop : k * hop + 1024] * window)) for k in range(50)], 1)
    expected = np.log(np.maximum(mel_basis(config).double().numpy() @ frames, 1e-5))
    ours = log_mel_spectrogram(wave.float(), config)[0]
    assert ours.shape == (64, 50)
    np.testing.assert_allclose(ours.numpy(), expected, rtol=0, atol=2e-4)
    bigvgan = log_mel_spectrogram(wave.float(), MelConfig())[0]
    later = log_mel_spectrogram(wave[80:].float(), config)[0]
    torch.testing.assert_close(bigvgan[:, 4:-4], later[:, 4 : bigvgan.shape[1] - 4], rtol=0, atol=1e-4)


def test_peak_level_removes_the_mean_and_keeps_pairs_summing_to_the_mixture():
    codec = AudioCodec(normalization="peak", reference_peak=0.5)
    target, interferer = tone(440, 0.3) + 0.2, tone(1000, 0.1) - 0.05  # offsets: the mean goes
    mixture = target + interferer
    scaled, gain = codec.level(mixture)
    centred = mixture - mixture.mean()
    assert float(scaled.mean()) == pytest.approx(0.0, abs=1e-7)
    assert float(scaled.abs().max()) == pytest.approx(0.5, rel=1e-6)
    torch.testing.assert_close(gain, 0.5 / (centred.abs().max(dim=-1, keepdim=True).values + 1e-8))
    levelled, scaled_target = codec.level_pair(mixture[None], target[None])
    scaled_interferer = (interferer - interferer.mean()) * gain
    torch.testing.assert_close(levelled[0], scaled_target[0] + scaled_interferer, rtol=0, atol=1e-6)
    silent, gain = codec.level(torch.zeros(100))
    assert float(gain) == 1.0 and not silent.any()


def test_a_sampled_posterior_is_mean_plus_std_times_the_generators_noise():
    pipe = make_tiny_pipeline()
    codec = AudioCodec(pipe.vae, latent_posterior="sample")
    wave = torch.from_numpy(noise_mixture(seconds=0.32))[None]
    with torch.no_grad():
        latents, mel = codec.encode(wave, generator=torch.Generator().manual_seed(4))
        posterior = pipe.vae.encode(codec.mel_to_image(mel)).latent_dist
    noise = torch.randn(posterior.mean.shape, generator=torch.Generator().manual_seed(4))
    expected = (posterior.mean + posterior.std * noise) * pipe.vae.config.scaling_factor
    torch.testing.assert_close(latents, expected, rtol=0, atol=1e-6)
    mode, _ = AudioCodec(pipe.vae).encode(wave)
    assert not torch.allclose(latents, mode)
