"""The log-mel latent (no VAE): the component, the codec through it, the objective's data prediction and source
rows, and a 2-step ``flow.codec: mel`` run with the waveform loss, assembled and separating."""

from pathlib import Path

import pytest
import torch
from accelerate.state import AcceleratorState, GradientState
from test_training import corpus, data_overrides, sets  # noqa: F401 (the corpus fixture)

from flowsep import FlowSepPipeline
from flowsep.codec import AudioCodec
from flowsep.errors import RecipeError
from flowsep.models import FlowSepTransformer, LogMelLatent
from flowsep.train import main
from flowsep.training import FlowMatchingObjective, load_recipe
from flowsep.training.stage_flow import FlowStage

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def test_log_mel_latent_normalises_each_band_and_round_trips(tmp_path):
    latent = LogMelLatent(num_mel_bins=4, mean=-5.0, std=2.5)
    latent.band_mean.copy_(torch.tensor([-1.0, -2.0, -3.0, -4.0]))
    latent.band_std.copy_(torch.tensor([1.0, 2.0, 4.0, 0.5]))
    image = torch.tensor([[[[1.0, 2.0, 5.0, -3.0]]]])  # (1, 1, N=1, M=4)
    assert torch.equal(latent.encode(image), torch.tensor([[[[2.0, 2.0, 2.0, 2.0]]]]))
    latent.save_pretrained(tmp_path)
    loaded = LogMelLatent.from_pretrained(tmp_path)
    assert torch.equal(loaded.band_std, latent.band_std) and torch.equal(
        loaded.decode(latent.encode(image)), image
    )
    with pytest.raises(ValueError, match="std must be positive"):
        LogMelLatent(std=0.0)


def test_codec_with_log_mel_latent_keeps_the_mel_frame_rate():
    codec = AudioCodec(LogMelLatent(), reference_rms=0.1)
    assert codec.time_factor == 1 and codec.latent_frame_samples == 160 and codec.latent_frames(40960) == 256
    wave = 0.1 * torch.randn(2, 40960, generator=torch.Generator().manual_seed(0))
    latents, mel = codec.encode(wave)
    assert latents.shape == (2, 1, 256, 64) and mel.shape == (2, 64, 256)
    assert torch.allclose(latents, (mel.transpose(1, 2).unsqueeze(1) + 5.0) / 2.5)
    assert torch.allclose(codec.decode(latents), mel, atol=1e-5)


class OracleVelocity(torch.nn.Module):
    """Returns the true velocity ``x1 - x0`` of the mixture-source flow without start noise."""

    def __init__(self, target):
        super().__init__()
        self.target = target

    def forward(self, x_sigma, mixture_latents, timestep, **kwargs):
        return type("Out", (), {"sample": mixture_latents - self.target})


def test_source_rows_start_at_the_mixture_and_the_data_prediction_is_the_target():
    generator = torch.Generator().manual_seed(0)
    target, mixture = (
        torch.randn(64, 1, 8, 4, generator=generator),
        torch.randn(64, 1, 8, 4, generator=generator),
    )
    states, mask = torch.zeros(64, 3, 8), torch.ones(64, 3, dtype=torch.long)
    always = FlowMatchingObjective(source="mixture", source_noise=0.0, source_sigma_prob=1.0)
    out = always(OracleVelocity(target), target, mixture, states, mask, generator=generator)
    assert torch.equal(out.sigma, torch.ones(64)) and torch.equal(out.x_sigma, mixture)
    assert torch.allclose(out.predicted_target, target, atol=1e-6) and float(out.loss) < 1e-10
    some = FlowMatchingObjective(source="mixture", source_noise=0.0, source_sigma_prob=0.5)
    out = some(OracleVelocity(target), target, mixture, states, mask, generator=generator)
    at_source = float((out.sigma == 1.0).float().mean())
    assert 0.3 < at_source < 0.7 and torch.allclose(out.predicted_target, target, atol=1e-5)


def test_recipe_checks_the_mel_codec_options():
    flow = RECIPES / "mini-mel" / "flow.yaml"
    recipe = load_recipe(flow)
    assert recipe.flow.codec == "mel" and recipe.flow.vae is None and recipe.flow.waveform_loss_weight > 0
    for key, value, message in [
        ("flow.codec", "wav", r"flow\.codec: one of vae, mel"),
        ("flow.source_sigma_prob", 1.5, r"flow\.source_sigma_prob: must be in \[0, 1\]"),
        ("flow.waveform_loss_weight", -1.0, "must not be negative"),
        ("flow.mask_rule", "soft", r"flow\.mask_rule: one of ratio"),
        ("flow.cache_dir", "cache", r"flow\.cache_dir: the latent cache holds VAE latents only"),
    ]:
        with pytest.raises(RecipeError, match=message):
            load_recipe(flow, {key: value})
    with pytest.raises(RecipeError, match=r"flow\.vae: the flow stage needs a trained VAE folder"):
        load_recipe(flow, {"flow.codec": "vae"})


def test_waveform_loss_is_minus_the_si_sdr_of_the_mask_decoded_prediction(corpus):  # noqa: F811
    """The mixture's own latent keeps everything: the loss is -SI-SDR(mixture, target), 0 dB at 0 dB SNR; the
    target's latent gives the oracle ratio mask, far better."""
    stage = FlowStage(load_recipe(RECIPES / "mini-mel" / "flow.yaml", data_overrides(corpus)))
    stage.codec = AudioCodec(LogMelLatent(), stage.mel, 0.1)
    generator = torch.Generator().manual_seed(0)
    target = 0.1 * torch.sin(2 * torch.pi * 440.0 * torch.arange(16000) / 16000).expand(2, -1) * 2**0.5
    mixture = target + 0.1 * torch.randn(2, 16000, generator=generator)  # a tone in white noise at 0 dB
    latents, _ = stage.codec.encode(mixture)
    loss = stage._waveform_loss(latents, {"mixture": mixture, "target": target})
    assert float(loss) == pytest.approx(0.0, abs=0.3)  # SI-SDR of the mixture at 0 dB SNR is 0 dB
    target_latents, _ = stage.codec.encode(target)
    oracle = stage._waveform_loss(target_latents, {"mixture": mixture, "target": target})
    assert float(oracle) < -8.0


def train_mel(recipe: str, output_dir: Path, overrides: dict) -> Path:
    assert main([str(RECIPES / "mini-mel" / recipe), "--output-dir", str(output_dir), *sets(overrides)]) == 0
    AcceleratorState._reset_state(True)
    GradientState._reset_state()
    return output_dir


def test_mel_flow_trains_assembles_and_runs(corpus, tmp_path, mixture_wav):  # noqa: F811
    small = {
        **data_overrides(corpus), "data.segment_seconds": 0.32, "model.sample_size": 32, "model.num_layers": 1,
        "model.num_attention_heads": 2, "model.attention_head_dim": 16, "model.text_embed_dim": 32,
        "flow.text_encoder": corpus["text_encoder"], "trainer.batch_size": 2, "trainer.max_steps": 2,
        "trainer.validation_steps": 2, "trainer.validation_batches": 1, "trainer.checkpointing_steps": 2,
    }  # fmt: skip
    flow = train_mel("flow.yaml", tmp_path / "flow", small)
    config = FlowSepTransformer.load_config(flow / "transformer")
    assert config["latent_channels"] == 1 and config["latent_frequency_bins"] == 64
    parts = {
        "assemble.transformer": str(flow), "assemble.text_encoder": corpus["text_encoder"],
        "data.train": corpus["data.train"],  # the recipe's classes come from the corpus, not data/ of the checkout
    }  # fmt: skip
    pipe = FlowSepPipeline.from_pretrained(train_mel("assemble.yaml", tmp_path / "pipeline", parts))
    assert isinstance(pipe.vae, LogMelLatent)
    pipe.set_progress_bar_config(disable=True)
    out = pipe("a steady high beep", str(mixture_wav), num_inference_steps=2, output_type="pt")
    assert out.audios.shape == (1, 24000) and torch.isfinite(out.audios).all()
    assert float(out.audios.abs().max()) > 0
