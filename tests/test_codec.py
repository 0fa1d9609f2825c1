"""The codec: training and inference encode with the same object; its settings and its frame arithmetic."""

from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState
from conftest import noise_mixture

from flowsep.codec import AudioCodec
from flowsep.spectrogram import MelConfig
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
