"""FlowSepPipeline end to end with tiny random components."""

import numpy as np
import pytest
import torch
from conftest import noise_mixture

from flowsep import FlowSepPipeline
from flowsep.decoding import MASK_RULES
from flowsep.errors import AudioInputError, CheckpointError, QueryError, UsageError
from flowsep.loading import load_pipeline
from flowsep.schedulers import make_scheduler
from flowsep.testing import make_tiny_pipeline

MIX = noise_mixture()


def run(pipe, prompt="a dog barking", mixture=MIX, seed=0, **kwargs):
    kwargs.setdefault("num_inference_steps", 2)
    return pipe(prompt, mixture, sample_rate=16000, generator=torch.manual_seed(seed), **kwargs)


@pytest.mark.parametrize("solver, evaluations", [("euler", 2), ("heun", 3), ("midpoint", 4)])
def test_every_solver_runs(tiny_pipe, solver, evaluations):
    tiny_pipe.scheduler = make_scheduler(solver)
    out = run(tiny_pipe, decoder="vocoder")
    assert out.audios.shape == (1, MIX.size) and np.isfinite(out.audios).all()
    assert out.nfe == evaluations


def test_seeded_runs_are_reproducible_and_seeds_differ(tiny_pipe):
    a, b, c = run(tiny_pipe, seed=1), run(tiny_pipe, seed=1), run(tiny_pipe, seed=2)
    assert np.array_equal(a.audios, b.audios)
    assert not np.allclose(a.audios, c.audios)


def test_guidance_changes_the_output(tiny_pipe):
    plain, guided = run(tiny_pipe, guidance_scale=1.0), run(tiny_pipe, guidance_scale=3.0)
    assert guided.nfe == 2 * plain.nfe
    assert not np.allclose(plain.audios, guided.audios)


def test_mask_decoder_is_mixture_consistent_for_every_rule(tiny_pipe):
    outputs = {}
    for rule in MASK_RULES:
        out = run(tiny_pipe, decoder="mask", mask_rule=rule, return_residual=True)
        assert np.abs(out.audios + out.residuals - MIX).max() < 1e-4
        outputs[rule] = out.audios
    assert not np.allclose(outputs["ratio"], outputs["binary"])
    with pytest.raises(UsageError, match="unknown mask_rule 'soft'"):
        run(tiny_pipe, mask_rule="soft")


def test_batched_queries_on_one_mixture_match_single_runs(tiny_pipe):
    queries = ["a dog barking", "rain falling on a roof"]
    generators = [torch.Generator().manual_seed(5), torch.Generator().manual_seed(0)]
    both = tiny_pipe(
        queries, MIX, sample_rate=16000, num_inference_steps=2, generator=generators, output_type="latent"
    )
    single = run(tiny_pipe, "rain falling on a roof", output_type="latent", seed=0)
    assert both.audios.shape[0] == 2
    assert torch.allclose(both.audios[1], single.audios[0], atol=1e-4)


def test_output_types(tiny_pipe):
    latent = run(tiny_pipe, output_type="latent").audios
    mel = run(tiny_pipe, output_type="mel").audios
    pt = run(tiny_pipe, output_type="pt").audios
    assert latent.shape == (1, 8, -(-MIX.size // 640), 16)
    assert mel.shape[:2] == (1, 64) and isinstance(pt, torch.Tensor)


def test_long_input_is_windowed_and_short_input_trimmed(tiny_pipe):
    window = tiny_pipe.segment_samples  # 0.32 s for the tiny model
    long_mix = noise_mixture(seconds=3 * window / 16000 + 0.1)
    out = run(tiny_pipe, mixture=long_mix, window_overlap=0.064)
    assert out.audios.shape == (1, long_mix.size)
    short = run(tiny_pipe, mixture=MIX[:1000])
    assert short.audios.shape == (1, 1000)


def test_mixture_source_starts_from_the_mixture_latent():
    """A zero-velocity network keeps its start: the mixture latent (no noise) or the mixture plus noise."""
    pipe = make_tiny_pipeline(seed=0)
    pipe.transformer.register_to_config(source="mixture", source_noise=0.5)
    torch.nn.init.zeros_(pipe.transformer.proj_out.weight)
    torch.nn.init.zeros_(pipe.transformer.proj_out.bias)
    window = MIX[: pipe.segment_samples]
    scaled, _ = pipe.codec.level(torch.from_numpy(window))
    mixture_latents, _ = pipe.codec.encode(scaled[None])
    exact = [
        run(pipe, mixture=window, seed=seed, output_type="latent", source_noise=0.0).audios for seed in (1, 2)
    ]
    torch.testing.assert_close(exact[0], mixture_latents)
    torch.testing.assert_close(exact[1], mixture_latents)
    noisy = run(pipe, mixture=window, seed=1, output_type="latent").audios  # the training value, 0.5
    assert 0.3 < (noisy - mixture_latents).std() < 0.7
    with pytest.raises(UsageError, match="source_noise must be >= 0"):
        run(pipe, source_noise=-1.0)


def test_silence_in_gives_silence_out(tiny_pipe):
    for decoder in ("mask", "vocoder"):
        out = run(tiny_pipe, mixture=np.zeros(8000, np.float32), decoder=decoder)
        assert np.abs(out.audios).max() == 0


def test_save_load_round_trip(tiny_pipe, tmp_path):
    tiny_pipe.save_pretrained(tmp_path)
    loaded = FlowSepPipeline.from_pretrained(tmp_path)
    loaded.set_progress_bar_config(disable=True)
    assert np.allclose(
        run(tiny_pipe, decoder="vocoder").audios, run(loaded, decoder="vocoder").audios, atol=1e-5
    )


def test_pipeline_without_vocoder_saves_and_uses_mask(tmp_path):
    from flowsep.testing import make_tiny_pipeline

    pipe = make_tiny_pipeline(with_vocoder=False)
    pipe.save_pretrained(tmp_path)
    loaded = load_pipeline(tmp_path)
    assert loaded.vocoder is None
    assert run(loaded).audios.shape == (1, MIX.size)
    with pytest.raises(CheckpointError, match="no vocoder"):
        run(loaded, decoder="vocoder")


@pytest.mark.parametrize(
    "prompt, error, message",
    [
        ("", QueryError, "empty"),
        ("   ", QueryError, "empty"),
        ([], QueryError, "non-empty"),
        (3, QueryError, "non-empty string"),
    ],
)
def test_bad_queries(tiny_pipe, prompt, error, message):
    with pytest.raises(error, match=message):
        run(tiny_pipe, prompt)


def test_query_count_must_match_mixtures(tiny_pipe):
    with pytest.raises(QueryError, match="2 queries for 3 mixtures"):
        run(tiny_pipe, ["a", "b"], [MIX, MIX, MIX])


def test_overlong_query_is_truncated_with_a_warning(tiny_pipe):
    with pytest.warns(UserWarning, match="truncated"):
        out = run(tiny_pipe, "dog " * 100)
    assert np.isfinite(out.audios).all()


def test_bad_mixture(tiny_pipe):
    with pytest.raises(AudioInputError, match="NaN"):
        run(tiny_pipe, mixture=np.array([0.1, np.nan] * 100, np.float32))


def test_incomplete_or_foreign_checkpoint(saved_tiny_pipe, tmp_path):
    import json
    import shutil

    with pytest.raises(CheckpointError, match="not found"):
        load_pipeline(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    shutil.copytree(saved_tiny_pipe, broken)
    shutil.rmtree(broken / "transformer")
    with pytest.raises(CheckpointError, match="transformer"):
        load_pipeline(broken)
    foreign = tmp_path / "foreign"
    shutil.copytree(saved_tiny_pipe, foreign)
    index = json.loads((foreign / "model_index.json").read_text())
    index["_class_name"] = "StableDiffusionPipeline"
    (foreign / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match="not a FlowSepPipeline"):
        load_pipeline(foreign)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(saved_tiny_pipe, corrupt)
    (corrupt / "transformer" / "diffusion_pytorch_model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="cannot load"):
        load_pipeline(corrupt)


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("framing", "htk", "unknown framing 'htk'"),
        ("sigma_grid", "cosine", "unknown sigma_grid 'cosine'"),
        ("default_decoder", "griffin-lim", "unknown default_decoder"),
        ("hop_length", 0, "hop_length must be >= 1"),
        ("fmax", 12000.0, "fmax must be at most 8000"),
        ("source_noise", -1.0, "source_noise must be >= 0"),
    ],
)
def test_a_bad_recorded_setting_fails_at_load(saved_tiny_pipe, tmp_path, key, value, message):
    """Guards against a model folder whose model_index.json holds a setting no call can use loading fine and
    failing at the first separation, deep inside the codec."""
    import json
    import shutil

    folder = tmp_path / "bad"
    shutil.copytree(saved_tiny_pipe, folder)
    index = json.loads((folder / "model_index.json").read_text())
    index[key] = value
    (folder / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match=f"cannot load a FlowSepPipeline from {folder}: {message}"):
        load_pipeline(folder)


def test_half_precision_runs_with_float_output(tiny_pipe):
    pipe = tiny_pipe.to(dtype=torch.bfloat16)
    for decoder in ("mask", "vocoder"):
        out = run(pipe, decoder=decoder, guidance_scale=2.0)
        assert out.audios.dtype == np.float32 and np.isfinite(out.audios).all()


def test_text_encoder_referenced_by_name_is_loaded_from_its_package(tmp_path):
    from flowsep.models import FlowSepTransformer
    from flowsep.testing import tiny_components

    parts = tiny_components()
    parts["transformer"] = FlowSepTransformer(
        sample_size=8, num_layers=1, num_attention_heads=2, attention_head_dim=16, text_embed_dim=384
    )
    FlowSepPipeline(
        **(parts | {"text_encoder": None, "tokenizer": None}), text_encoder_name="minilm"
    ).save_pretrained(tmp_path)
    assert not (tmp_path / "text_encoder").exists()
    pipe = FlowSepPipeline.from_pretrained(tmp_path)
    pipe.set_progress_bar_config(disable=True)
    assert pipe.text_encoder.config.hidden_size == 384
    assert run(pipe, "a dog barking").audios.shape == (1, MIX.size)


def test_callback_on_step_end_follows_diffusers_contract(tiny_pipe):
    """``fn(pipe, step, timestep, callback_kwargs) -> dict`` sees the named tensors and may replace them."""
    calls = []

    def callback(pipe, step, timestep, callback_kwargs):
        calls.append((pipe, step, float(timestep), sorted(callback_kwargs)))
        return {"latents": torch.zeros_like(callback_kwargs["latents"])}

    out = run(
        tiny_pipe, mixture=MIX[:4000], output_type="latent", callback_on_step_end=callback,
        callback_on_step_end_tensor_inputs=["latents", "prompt_embeds"],
    )  # fmt: skip
    assert [(step, timestep) for _, step, timestep, _ in calls] == list(
        enumerate(tiny_pipe.scheduler.timesteps.tolist())
    )
    assert calls[0][0] is tiny_pipe and calls[0][3] == ["latents", "prompt_embeds"]
    assert tiny_pipe.num_timesteps == 2 and out.audios.abs().max() == 0
    with pytest.raises(UsageError, match="'noise'"):
        run(tiny_pipe, callback_on_step_end=callback, callback_on_step_end_tensor_inputs=["noise"])


def test_precomputed_prompt_embeds_and_latents_reproduce_a_seeded_run(tiny_pipe):
    plain = run(tiny_pipe, output_type="latent", seed=3)
    embeds, mask = tiny_pipe.encode_prompt("a dog barking", tiny_pipe.device)
    noise = tiny_pipe.prepare_latents(1, torch.float32, tiny_pipe.device, torch.manual_seed(3))
    for attention_mask in (mask, None):  # one query: no padding, the default mask is the same
        given = tiny_pipe(
            mixture=MIX, sample_rate=16000, prompt_embeds=embeds, prompt_attention_mask=attention_mask,
            latents=noise, num_inference_steps=2, output_type="latent",
        )  # fmt: skip
        torch.testing.assert_close(given.audios, plain.audios)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"decoder": "griffin"}, "unknown decoder"), ({"output_type": "wav"}, "unknown output_type"),
        ({"num_inference_steps": 0}, "num_inference_steps must be >= 1"),
        ({"window_batch_size": 0}, "window_batch_size must be >= 1"),
        ({"window_overlap": -1.0}, "window_overlap must be >= 0"),
        ({"prompt_embeds": torch.zeros(1, 3, 32)}, "either prompt or prompt_embeds"),
        ({"latents": torch.zeros(1, 8, 4, 16)}, r"latents must be shaped \(1, 8, 8, 16\)"),
        ({"latents": torch.zeros(1, 8, 8, 16), "share_noise": False}, "share_noise"),
        ({"generator": [torch.manual_seed(0)] * 2}, "2 generators for 1 items"),
    ],
)  # fmt: skip
def test_argument_errors_are_usage_errors(tiny_pipe, options, message):
    with pytest.raises(UsageError, match=message):
        tiny_pipe(
            "a dog barking",
            MIX,
            sample_rate=16000,
            num_inference_steps=options.pop("num_inference_steps", 2),
            **options,
        )
