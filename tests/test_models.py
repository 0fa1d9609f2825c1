"""Forward shapes, conditioning, save/load and configs of the components."""

import pytest
import torch

from flowsep.models import BigVGANVocoder, FlowSepTransformer
from flowsep.schedulers import FlowMatchMidpointScheduler


def tiny_transformer(**kwargs):
    torch.manual_seed(0)
    model = FlowSepTransformer(
        num_layers=2, num_attention_heads=2, attention_head_dim=16, text_embed_dim=32, **kwargs
    )
    for parameter in model.parameters():
        torch.nn.init.normal_(parameter, std=0.05)
    return model


def inputs(batch=2, frames=16):
    torch.manual_seed(1)
    return (
        torch.randn(batch, 8, frames, 16),
        torch.randn(batch, 8, frames, 16),
        torch.tensor([900.0, 100.0])[:batch],
        torch.randn(batch, 5, 32),
        torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])[:batch],
    )


def test_transformer_shapes_for_both_token_layouts():
    x, mix, t, text, mask = inputs()
    for patches in ({}, {"patch_size_time": 2, "patch_size_freq": 2}):
        out = tiny_transformer(**patches)(x, mix, t, text, mask).sample
        assert out.shape == x.shape and torch.isfinite(out).all()


def _band_reach(model, frames=16):
    """Which band groups of the output a change in the input's first band group reaches: (F / pf,) bools."""
    x, mix, t, text, mask = inputs(frames=frames)
    moved = x.clone()
    moved[..., :2] += 1.0
    change = (model(moved, mix, t, text, mask).sample - model(x, mix, t, text, mask).sample).abs()
    return change.amax(dim=(0, 1, 2)).reshape(-1, 2).amax(-1) > 1e-6


def test_axial_attention_mixes_bands_and_time_only_through_its_paths():
    """Guards the dual-path wiring: the band attention must reach other bands (a block that only attends along
    time never would), and axial tokens keep the (t f) order, so shapes and save/load survive."""
    axial = tiny_transformer(patch_size_time=2, patch_size_freq=2, attention_pattern="axial")
    x, mix, t, text, mask = inputs()
    assert axial(x, mix, t, text, mask).sample.shape == x.shape
    assert _band_reach(axial).all()
    for block in axial.blocks:  # without the band path, a band group only ever sees itself
        block.attn_freq.to_out[0].weight.data.zero_()
        block.attn_freq.to_out[0].bias.data.zero_()
    assert _band_reach(axial).tolist() == [True] + [False] * 7


def test_new_axial_transformer_predicts_zero_velocity_and_refuses_unknown_patterns():
    x, mix, t, text, mask = inputs()
    model = FlowSepTransformer(
        num_layers=1, num_attention_heads=2, attention_head_dim=16, text_embed_dim=32,
        patch_size_freq=4, attention_pattern="axial",
    )  # fmt: skip
    assert model(x, mix, t, text, mask).sample.abs().max() == 0
    with pytest.raises(ValueError, match="attention_pattern='grid'"):
        FlowSepTransformer(
            num_layers=1, num_attention_heads=2, attention_head_dim=16, attention_pattern="grid"
        )


def test_new_transformer_predicts_zero_velocity():
    x, mix, t, text, mask = inputs()
    model = FlowSepTransformer(num_layers=1, num_attention_heads=2, attention_head_dim=16, text_embed_dim=32)
    assert model(x, mix, t, text, mask).sample.abs().max() == 0


def test_unknown_flow_source_is_refused():
    with pytest.raises(ValueError, match="source='mix'"):
        FlowSepTransformer(num_layers=1, num_attention_heads=2, attention_head_dim=16, source="mix")


def test_text_mixture_and_dropout_change_the_output():
    x, mix, t, text, mask = inputs()
    model = tiny_transformer()
    base = model(x, mix, t, text, mask).sample
    assert not torch.allclose(base, model(x, mix, t, text.flip(0), mask).sample)
    assert not torch.allclose(base, model(x, mix * 2, t, text, mask).sample)
    dropped = model(x, mix, t, text, mask, text_dropout_mask=torch.tensor([True, False])).sample
    assert not torch.allclose(base[0], dropped[0]) and torch.allclose(base[1], dropped[1], atol=1e-6)
    unconditional = model(x, mix, t, None).sample
    assert torch.allclose(unconditional[0], dropped[0], atol=1e-5)


def test_padding_tokens_are_ignored():
    x, mix, t, text, mask = inputs()
    model = tiny_transformer()
    altered = text.clone()
    altered[0, 3:] = 100.0  # masked positions of row 0
    assert torch.allclose(
        model(x, mix, t, text, mask).sample, model(x, mix, t, altered, mask).sample, atol=1e-5
    )


def test_gradient_checkpointing_matches(tmp_path):
    x, mix, t, text, mask = inputs()
    model = tiny_transformer()
    model.train()
    model(x, mix, t, text, mask).sample.pow(2).mean().backward()
    plain = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model.enable_gradient_checkpointing()
    model(x, mix, t, text, mask).sample.pow(2).mean().backward()
    assert all(torch.allclose(a, p.grad, atol=1e-6) for a, p in zip(plain, model.parameters()))


def test_transformer_save_load_round_trip(tmp_path):
    x, mix, t, text, mask = inputs()
    model = tiny_transformer()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "diffusion_pytorch_model.safetensors").exists()
    loaded = FlowSepTransformer.from_pretrained(tmp_path)
    assert torch.allclose(model(x, mix, t, text, mask).sample, loaded(x, mix, t, text, mask).sample)


def test_paper_scale_config_instantiates():
    model = FlowSepTransformer(text_embed_dim=1024, sample_size=256)
    params = sum(p.numel() for p in model.parameters())
    assert 50e6 < params < 400e6
    assert model.config.sample_size * 4 * 160 == 163840


def test_vocoder_shapes_and_release_conversion(tmp_path):
    torch.manual_seed(0)
    vocoder = BigVGANVocoder(
        upsample_initial_channel=32, resblock_kernel_sizes=(3,), resblock_dilation_sizes=((1,),)
    )
    mel = torch.randn(2, 64, 10)
    audio = vocoder(mel)
    assert audio.shape == (2, 1600) and audio.abs().max() <= 1
    vocoder.generator._save_pretrained(
        tmp_path
    )  # NVIDIA's release layout: config.json + bigvgan_generator.pt
    assert (tmp_path / "bigvgan_generator.pt").exists()
    converted = BigVGANVocoder.from_bigvgan_release(tmp_path)
    assert torch.allclose(converted(mel), audio)


def test_midpoint_scheduler_integrates_a_linear_field_exactly():
    scheduler = FlowMatchMidpointScheduler()
    scheduler.set_timesteps(3)
    assert len(scheduler.timesteps) == 6
    x0, noise = torch.tensor([2.0]), torch.tensor([-1.0])
    sample = noise
    for t in scheduler.timesteps:
        sample = scheduler.step(noise - x0, t, sample).prev_sample
    assert torch.allclose(sample, x0)
