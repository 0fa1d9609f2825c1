"""Conversion of the official FlowSep checkpoint: names, shapes, the flow-convention adapter, a full round trip.

A synthetic checkpoint with the official key structure at a reduced width stands in for ``v2_100k.ckpt``;
full-size names and shapes are checked against the layout recorded from the official code (no 4 GB tensors).
"""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import noise_mixture
from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler

from flowsep import FlowSepPipeline, FlowSepUNet
from flowsep.conversion import convert_official_flowsep
from flowsep.conversion.official import OFFICIAL_INFERENCE
from flowsep.conversion.official_names import to_official, unet_names, vae_names, vocoder_names
from flowsep.conversion.synthetic import FULL, TINY, write_synthetic_checkpoint
from flowsep.errors import CheckpointError, OutputPathError
from flowsep.models import BigVGANVocoder

LAYOUT = Path(__file__).resolve().parents[2] / "shared" / "research" / "official_flowsep_layout.json"


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """The synthetic checkpoint, its text-encoder folder, and its conversion."""
    folder = tmp_path_factory.mktemp("official")
    checkpoint, text_dir = write_synthetic_checkpoint(folder, TINY)
    report = convert_official_flowsep(checkpoint, folder / "converted", str(text_dir), TINY["architecture"])
    return checkpoint, text_dir, folder / "converted", report


def official_shapes(model, names):
    state = model.state_dict()
    shapes = {official: to_official(key, official, state) for key, official in names.items()}
    return {official: list(tensor.shape) for official, tensor in shapes.items() if tensor is not None}


@pytest.mark.skipif(not LAYOUT.is_file(), reason="the recorded official layout is not in this checkout")
def test_full_size_names_and_shapes_match_the_official_layout():
    layout = json.loads(LAYOUT.read_text())
    with torch.device("meta"):
        unet = FlowSepUNet()
        vae = AutoencoderKL(**FULL["vae"])
        vocoder = BigVGANVocoder(**FULL["vocoder"])
    assert official_shapes(unet, unet_names(unet)) == layout["unet"]
    ours = official_shapes(vae, vae_names(vae)) | official_shapes(vocoder, vocoder_names(vocoder))
    assert ours == layout["vae_and_vocoder"]
    assert sum(p.numel() for p in unet.unet.parameters()) == 265_549_456


def test_synthetic_checkpoint_converts_with_every_tensor_used(converted):
    checkpoint, _, folder, report = converted
    state = torch.load(checkpoint, weights_only=False)["state_dict"]
    assert report.unused == [] and sorted(report.unused_by_design) == sorted(
        ["betas", "alphas_cumprod", "alphas_cumprod_prev", "posterior_variance", "logvar"]
    )
    assert "placeholders" in report.notes[0]  # the Lightning extra was not unpickled
    assert report.scaling_factor == pytest.approx(0.8)
    assert (
        not list(folder.rglob("*.bin"))
        and not list(folder.rglob("*.pt"))
        and list(folder.rglob("*.safetensors"))
    )
    pipe = FlowSepPipeline.from_pretrained(folder)
    assert isinstance(pipe.transformer, FlowSepUNet) and pipe.vae.config.scaling_factor == pytest.approx(0.8)
    # every converted tensor equals its checkpoint tensor (vocoder: through weight norm)
    for model, names in (
        (pipe.transformer, unet_names),
        (pipe.vae, vae_names),
        (pipe.vocoder, vocoder_names),
    ):
        for official, tensor in official_tensors(model, names).items():
            torch.testing.assert_close(tensor, state[official], rtol=1e-5, atol=1e-6)
    ids = pipe.tokenizer(["a dog barking"], return_tensors="pt").input_ids
    assert (
        pipe.text_encoder.shared.weight.data_ptr() == pipe.text_encoder.encoder.embed_tokens.weight.data_ptr()
    )
    torch.testing.assert_close(
        pipe.text_encoder.shared.weight, state["cond_stage_models.0.model.shared.weight"]
    )
    assert pipe.text_encoder(ids)[0].shape == (1, ids.shape[1], 32)


def official_tensors(model, names):
    state = model.state_dict()
    tensors = {official: to_official(key, official, state) for key, official in names(model).items()}
    return {official: tensor for official, tensor in tensors.items() if tensor is not None}


def test_one_euler_step_follows_the_official_formula(converted):
    """x_t = (1 - (1 - 1e-4) t) eps + t x1, the UNet gets cat([x_t, z_mix]) and t unscaled and predicts
    u = x1 - (1 - 1e-4) eps; an Euler step of flowsep's scheduler must be x + dt * u(x, t)."""
    pipe = FlowSepPipeline.from_pretrained(converted[2])
    unet = pipe.transformer
    generator = torch.Generator().manual_seed(0)
    shape = (2, 8, unet.config.sample_size, 16)
    x, mix = torch.randn(shape, generator=generator), torch.randn(shape, generator=generator)
    text, mask = torch.randn(2, 5, 32, generator=generator), torch.ones(2, 5)
    scheduler = FlowMatchEulerDiscreteScheduler()
    scheduler.set_timesteps(4)
    with torch.no_grad():
        for index in (0, 2):  # the first step (t = 0) and one from the middle of the grid
            sigma, sigma_next = scheduler.sigmas[index], scheduler.sigmas[index + 1]
            t, dt = 1 - sigma, sigma - sigma_next
            u = unet.unet(
                torch.cat([x, mix], 1), t.expand(2), encoder_hidden_states=text, encoder_attention_mask=mask
            )
            expected = x + dt * u.sample[:, :8]
            v = unet(
                x, mix, scheduler.timesteps[index], encoder_hidden_states=text, encoder_attention_mask=mask
            )
            scheduler._step_index = index
            stepped = scheduler.step(v.sample, scheduler.timesteps[index], x).prev_sample
            torch.testing.assert_close(stepped, expected, rtol=1e-5, atol=1e-5)


def test_null_text_is_the_empty_caption_and_guidance_uses_it(converted):
    pipe = FlowSepPipeline.from_pretrained(converted[2])
    tokens = pipe.tokenizer([""], max_length=50, padding="max_length", return_tensors="pt")
    with torch.no_grad():
        null = pipe.text_encoder(input_ids=tokens.input_ids, attention_mask=tokens.attention_mask)[0]
    torch.testing.assert_close(pipe.transformer.null_text_embedding.data, null)
    unet, x = pipe.transformer, torch.randn(2, 8, 8, 16)
    text = torch.randn(2, 3, 32)
    with torch.no_grad():
        dropped = unet(x, x, torch.tensor(500.0), text, text_dropout_mask=torch.tensor([True, False])).sample
        unconditional = unet(x, x, torch.tensor(500.0), None).sample
        conditional = unet(x, x, torch.tensor(500.0), text).sample
    torch.testing.assert_close(dropped[0], unconditional[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(dropped[1], conditional[1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("decoder", ["vocoder", "mask"])
def test_converted_pipeline_runs_both_decoders_deterministically(converted, decoder):
    pipe = FlowSepPipeline.from_pretrained(converted[2])
    pipe.set_progress_bar_config(disable=True)
    mixture = noise_mixture(seconds=1.0)
    noise = torch.randn(1, 8, 8, 16, generator=torch.Generator().manual_seed(1))
    out = pipe("a dog barking", mixture, sample_rate=16000, num_inference_steps=2, decoder=decoder,
               latents=noise, return_residual=True, generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert out.audios.shape == (1, mixture.size) and np.isfinite(out.audios).all()
    np.testing.assert_allclose(out.audios[0] + out.residuals[0], mixture, atol=1e-5)
    again = pipe(
        "a dog barking", mixture, sample_rate=16000, num_inference_steps=2, decoder=decoder, latents=noise,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    np.testing.assert_array_equal(out.audios, again.audios)


def test_converted_folder_runs_the_authors_front_end_on_their_grid(converted):
    """The folder records the authors' inference and the pipeline follows it: 10 steps are t = 0, 0.1, ..., 0.9
    at the UNet; the mixture is less its mean at a peak of 0.5, framed as TacotronSTFT frames it, and its latent
    is a posterior sample drawn from the item's generator right after the start noise."""
    pipe = FlowSepPipeline.from_pretrained(converted[2])
    pipe.set_progress_bar_config(disable=True)
    assert {key: pipe.config[key] for key in OFFICIAL_INFERENCE} == OFFICIAL_INFERENCE
    assert pipe.tokenizer.model_max_length == 50
    codec = pipe.codec
    assert (codec.mel.framing, codec.normalization, codec.latent_posterior) == ("tacotron", "peak", "sample")
    mixture = noise_mixture(seconds=pipe.segment_samples / 16000) + 0.02
    seen = {"t": []}

    def record(pipe, step, timestep, tensors):
        seen.setdefault("mixture_latents", tensors["mixture_latents"])
        seen["t"].append(1.0 - float(timestep) / 1000)
        return tensors

    pipe("a dog barking", mixture, sample_rate=16000, num_inference_steps=10, output_type="latent",
         generator=torch.Generator().manual_seed(5), callback_on_step_end=record,
         callback_on_step_end_tensor_inputs=["mixture_latents"])  # fmt: skip
    np.testing.assert_allclose(seen["t"], np.arange(10) / 10, atol=1e-6)
    centred = torch.from_numpy(mixture - mixture.mean())
    levelled = centred * 0.5 / (centred.abs().max() + 1e-8)
    generator = torch.Generator().manual_seed(5)
    torch.randn(1, 8, 8, 16, generator=generator)  # the start noise comes first
    with torch.no_grad():
        expected, _ = codec.encode(levelled[None], generator=generator)
    torch.testing.assert_close(seen["mixture_latents"], expected, rtol=0, atol=1e-5)


def test_separate_with_defaults_is_the_parity_run(converted, tmp_path):
    """``flowsep separate --model <converted> --steps 10`` = the pipeline with the vocoder, the uniform grid and
    the seed 0 generator (and the folder's front end), as ``eval/official_parity.py`` runs it."""
    from flowsep.cli import main

    mixture_file, out_file = tmp_path / "mix.wav", tmp_path / "out.wav"
    sf.write(mixture_file, noise_mixture(seconds=0.32), 16000, subtype="FLOAT")  # one window of the tiny UNet
    argv = [
        "separate",
        str(mixture_file),
        "-q",
        "a dog barking",
        "-o",
        str(out_file),
        "--model",
        str(converted[2]),
    ]
    assert main([*argv, "--steps", "10", "--device", "cpu"]) == 0
    pipe = FlowSepPipeline.from_pretrained(converted[2])
    pipe.set_progress_bar_config(disable=True)
    wave, _ = sf.read(mixture_file, dtype="float32")
    expected = pipe("a dog barking", wave, sample_rate=16000, num_inference_steps=10, decoder="vocoder",
                    sigma_grid="uniform", generator=torch.Generator().manual_seed(0)).audios[0]  # fmt: skip
    np.testing.assert_allclose(sf.read(out_file, dtype="float32")[0], expected, rtol=0, atol=1e-7)


def test_conversion_errors(converted, tmp_path):
    checkpoint, text_dir, folder, _ = converted
    with pytest.raises(OutputPathError, match="exists"):
        convert_official_flowsep(checkpoint, folder, str(text_dir), TINY["architecture"])
    state = torch.load(checkpoint, weights_only=False)["state_dict"]
    broken = dict(state)
    broken.pop("model.diffusion_model.out.2.weight")
    torch.save(broken, tmp_path / "missing.ckpt")
    with pytest.raises(CheckpointError, match="missing"):
        convert_official_flowsep(
            tmp_path / "missing.ckpt", tmp_path / "a", str(text_dir), TINY["architecture"]
        )
    broken = dict(state)
    broken["model.diffusion_model.out.2.weight"] = torch.zeros(16, 16, 1, 1)
    torch.save(broken, tmp_path / "shape.ckpt")
    with pytest.raises(CheckpointError, match="does not fit"):
        convert_official_flowsep(tmp_path / "shape.ckpt", tmp_path / "b", str(text_dir), TINY["architecture"])
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging folder left


def test_convert_command_and_separate_with_the_converted_model(converted, tmp_path, capsys, monkeypatch):
    from flowsep.cli import main
    from flowsep.conversion import official

    monkeypatch.setattr(
        official, "OfficialArchitecture", lambda: TINY["architecture"]
    )  # heads, groups: reduced
    checkpoint, text_dir, _, _ = converted
    model = tmp_path / "official"
    argv = ["convert", "official-flowsep", str(checkpoint), str(model), "--text-encoder", str(text_dir)]
    assert main(argv) == 0
    assert "placeholders" in capsys.readouterr().out
    assert main(argv) == 2 and "exists" in capsys.readouterr().err  # never replaced without --overwrite
    mixture = tmp_path / "mix.wav"
    sf.write(mixture, noise_mixture(seconds=1.0), 16000)
    for decoder in ("vocoder", "mask"):
        out = tmp_path / f"{decoder}.wav"
        argv = ["separate", str(mixture), "-q", "a dog barking", "-o", str(out), "--model", str(model)]
        assert main([*argv, "--steps", "2", "--decoder", decoder, "--device", "cpu"]) == 0
        assert sf.info(out).frames == 16000


@pytest.mark.slow
def test_full_size_random_checkpoint_converts_with_the_official_parameter_counts(tmp_path):
    """About 3 GB of files and 2 minutes on 2 CPU cores; eval/official_conversion.py also separates 30 s."""
    checkpoint, text_dir = write_synthetic_checkpoint(tmp_path, FULL)
    report = convert_official_flowsep(checkpoint, tmp_path / "converted", str(text_dir))
    millions = {name: round(count / 1e6, 1) for name, count in report.parameters.items()}
    # the vocoder keeps weight norm: one magnitude per output channel more than the official 13,956,009
    assert millions | {"text_encoder": None} == {
        "transformer": 265.6,
        "vae": 55.4,
        "vocoder": 14.0,
        "text_encoder": None,
    }
    assert report.unused == []
    pipe = FlowSepPipeline.from_pretrained(tmp_path / "converted")
    assert sum(p.numel() for p in pipe.transformer.unet.parameters()) == 265_549_456
