"""Training: recipes and overrides, the flow-matching objective, 2-step runs of every stage on a toy corpus,
the assembled pipeline, exact resumption, the latent cache, and (slow) a 2-process run over gloo."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from accelerate.state import AcceleratorState, GradientState
from safetensors.torch import load_file

from flowsep import FlowSepPipeline
from flowsep.commands.train import add_arguments, overrides_from_args
from flowsep.errors import RecipeError
from flowsep.testing import tiny_components
from flowsep.train import main
from flowsep.training import FlowMatchingObjective, load_recipe
from flowsep.training.toy_corpus import make_toy_corpus

RECIPES = Path(__file__).resolve().parents[1] / "recipes" / "tiny"


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    """Each in-process run builds its own Accelerator."""
    yield
    AcceleratorState._reset_state(True)
    GradientState._reset_state()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The toy corpus, and a tiny T5 text encoder (width 32) in place of the recipes' MiniLM, for speed."""
    root = tmp_path_factory.mktemp("toy")
    train, valid = make_toy_corpus(root, clips_per_sound=2, seconds=0.5)
    parts = tiny_components(with_vocoder=False)
    parts["text_encoder"].save_pretrained(root / "t5")
    parts["tokenizer"].save_pretrained(root / "t5")
    return {"data.train": [str(train)], "data.valid": [str(valid)], "text_encoder": str(root / "t5")}


def flow_overrides(corpus: dict, vae: Path) -> dict:
    data = {key: value for key, value in corpus.items() if key.startswith("data.")}
    return {
        **data,
        "flow.vae": str(vae / "vae"),
        "flow.text_encoder": corpus["text_encoder"],
        "model.text_embed_dim": 32,
    }


def data_overrides(corpus: dict) -> dict:
    return {key: value for key, value in corpus.items() if key.startswith("data.")}


def sets(overrides: dict) -> list[str]:
    return [
        arg for key, value in overrides.items() for arg in ("--set", f"{key}={yaml.safe_dump(value).strip()}")
    ]


def train(recipe: str, output_dir: Path, overrides: dict, *flags: str) -> Path:
    code = main([str(RECIPES / recipe), "--output-dir", str(output_dir), *sets(overrides), *flags])
    assert code == 0
    AcceleratorState._reset_state(True)
    GradientState._reset_state()
    return output_dir


@pytest.fixture(scope="module")
def stages(tmp_path_factory, corpus):
    """2-step runs of vae (with TensorBoard), flow and vocoder, then assemble; returns their folders."""
    root = tmp_path_factory.mktemp("runs")
    vae = train("vae.yaml", root / "vae", {**data_overrides(corpus), "trainer.log_with": "tensorboard"})
    flow = train(
        "flow.yaml", root / "flow", {**flow_overrides(corpus, vae), "trainer.log_with": "tensorboard"}
    )
    vocoder = train("vocoder.yaml", root / "vocoder", data_overrides(corpus))
    parts = {
        "assemble.vae": str(vae), "assemble.transformer": str(flow), "assemble.vocoder": str(vocoder),
        "assemble.text_encoder": corpus["text_encoder"],
    }  # fmt: skip
    pipeline = train("assemble.yaml", root / "pipeline", parts)
    return {"vae": vae, "flow": flow, "vocoder": vocoder, "pipeline": pipeline, "root": root}


def test_every_stage_writes_loadable_folders(stages):
    config = yaml.safe_load((stages["vae"] / "vae" / "config.json").read_text())
    assert config["in_channels"] == 1 and config["scaling_factor"] != 1.0 and config["scaling_factor"] > 0
    assert (stages["flow"] / "transformer" / "config.json").is_file()
    assert (stages["vocoder"] / "vocoder" / "config.json").is_file()
    for stage in ("vae", "flow", "vocoder"):
        assert (stages[stage] / "checkpoints" / "checkpoint-2").is_dir()
        assert (stages[stage] / "recipe.yaml").is_file()
        examples = stages[stage] / "validation" / "step-2"
        assert (examples / "item0.png").stat().st_size > 0 and list(examples.glob("*.wav"))
    assert list((stages["vae"] / "logs").rglob("events.out.tfevents.*"))


def test_the_flow_stage_logs_its_validation_loss(stages):
    """The validation pass's losses reach the tracker under ``valid/<name>`` (the flow stage's: ``loss``)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    points = []
    for events in (stages["flow"] / "logs").rglob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        if "valid/loss" in accumulator.Tags()["scalars"]:
            points += accumulator.Scalars("valid/loss")
    assert points and all(math.isfinite(point.value) for point in points)
    assert points[-1].step == 2


def test_assembled_pipeline_loads_and_runs(stages, mixture_wav):
    pipe = FlowSepPipeline.from_pretrained(stages["pipeline"])
    pipe.set_progress_bar_config(disable=True)
    out = pipe(
        "a steady high beep",
        str(mixture_wav),
        num_inference_steps=2,
        generator=torch.Generator().manual_seed(0),
    )
    assert out.audios.shape == (1, 24000) and out.sample_rate == 16000
    assert torch.isfinite(torch.as_tensor(out.audios)).all()
    assert pipe.vae.config.scaling_factor == pytest.approx(
        yaml.safe_load((stages["vae"] / "vae" / "config.json").read_text())["scaling_factor"]
    )


def test_resume_is_exact(stages, corpus, tmp_path):
    """Stopped after 3 steps and resumed (mid-epoch, gradient accumulation, EMA) == 4 steps in one go."""
    overrides = {
        **flow_overrides(corpus, stages["vae"]), "trainer.gradient_accumulation_steps": 2,
        "trainer.checkpointing_steps": 1, "trainer.validation_steps": 0, "trainer.lr_warmup_steps": 2,
    }  # fmt: skip
    whole = train("flow.yaml", tmp_path / "whole", overrides, "--max-steps", "4")
    parts = train("flow.yaml", tmp_path / "parts", overrides, "--max-steps", "3")
    assert not (parts / "checkpoints" / "checkpoint-4").exists()
    train("flow.yaml", parts, overrides, "--max-steps", "4", "--resume", "latest")
    raw = {
        run: load_file(run / "checkpoints" / "checkpoint-4" / "model.safetensors") for run in (whole, parts)
    }
    step3 = load_file(whole / "checkpoints" / "checkpoint-3" / "model.safetensors")
    assert any(not torch.equal(step3[key], raw[whole][key]) for key in step3)  # step 4 moved the weights
    ema = {
        run: load_file(run / "transformer" / "diffusion_pytorch_model.safetensors") for run in (whole, parts)
    }
    for weights in (raw, ema):
        for key in weights[whole]:
            torch.testing.assert_close(weights[parts][key], weights[whole][key], rtol=1e-5, atol=1e-6)


def test_latent_cache_trains_and_refuses_other_settings(stages, corpus, tmp_path, capsys):
    cache = tmp_path / "cache"
    overrides = {
        **flow_overrides(corpus, stages["vae"]),
        "flow.cache_dir": str(cache),
        "trainer.validation_steps": 0,
    }
    train("flow.yaml", tmp_path / "run", overrides)
    assert len(list((cache / "epoch-000").glob("*.safetensors"))) == 6
    assert (tmp_path / "run" / "transformer" / "config.json").is_file()
    other = {**overrides, "data.snr_range": [0, 5]}
    assert main([str(RECIPES / "flow.yaml"), "--output-dir", str(tmp_path / "other"), *sets(other)]) == 2
    assert "flow.cache_dir" in capsys.readouterr().err


def test_recipe_unknown_key_is_named(tmp_path, capsys):
    recipe = yaml.safe_load((RECIPES / "vae.yaml").read_text())
    recipe["trainer"]["max_step"] = 3
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(recipe))
    with pytest.raises(RecipeError, match=r"trainer\.max_step: unknown key"):
        load_recipe(path)
    assert main([str(path)]) == 2
    assert "trainer.max_step: unknown key" in capsys.readouterr().err
    with pytest.raises(RecipeError, match=r"data\.bogus: unknown key"):
        load_recipe(RECIPES / "vae.yaml", {"data.bogus": 1})
    with pytest.raises(RecipeError, match=r"trainer\.batch_size: expected an integer"):
        load_recipe(RECIPES / "vae.yaml", {"trainer.batch_size": "two"})
    with pytest.raises(RecipeError, match="stage"):
        load_recipe(RECIPES / "vae.yaml", {"stage": "diffusion"})
    with pytest.raises(RecipeError, match=r"data\.bandlimit_prob: must be in \[0, 1\]"):
        load_recipe(RECIPES / "vae.yaml", {"data.bandlimit_prob": 1.5})
    with pytest.raises(RecipeError, match=r"data\.bandlimit_hz"):
        load_recipe(RECIPES / "vae.yaml", {"data.bandlimit_hz": [5000, 9000]})


def test_shipped_recipes_are_valid():
    paths = sorted(RECIPES.parent.glob("*/*.yaml"))
    assert {"paper", "tiny"} <= {path.parent.name for path in paths}
    stages = {(path.parent.name, load_recipe(path).stage) for path in paths}
    assert {("paper", stage) for stage in ("vae", "flow", "vocoder", "assemble")} <= stages
    paper = load_recipe(RECIPES.parent / "paper" / "flow.yaml")
    assert paper.flow.text_encoder == "google/flan-t5-large" and paper.flow.text_dropout == 0.1
    assert paper.data.snr_range == (-15.0, 15.0) and paper.data.segment_seconds == 10.24


def test_command_line_overrides():
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([
        str(RECIPES / "flow.yaml"), "--output-dir", "elsewhere", "--max-steps", "7", "--resume", "latest",
        "--set", "trainer.learning_rate=1e-4", "--set", "data.snr_range=[-5, 5]", "--set", "trainer.max_steps=3",
    ])  # fmt: skip
    recipe = load_recipe(args.recipe, overrides_from_args(args))
    assert recipe.output_dir == "elsewhere" and recipe.resume == "latest"
    assert recipe.trainer.max_steps == 7  # the named flag wins over --set
    assert recipe.trainer.learning_rate == 1e-4 and recipe.data.snr_range == (-5.0, 5.0)
    assert recipe.model["num_layers"] == 2 and recipe.flow.text_encoder == "minilm"


def test_cli_train_reports_recipe_errors(tmp_path, capsys):
    pytest.importorskip("flowsep.commands.separate")
    from flowsep.cli import main as cli_main

    assert cli_main(["train", str(tmp_path / "missing.yaml")]) == 2
    assert "recipe not found" in capsys.readouterr().err


class ZeroVelocity(torch.nn.Module):
    """Records its inputs; predicts zero velocity."""

    def forward(self, x, mixture, timestep, encoder_hidden_states, encoder_attention_mask, text_dropout_mask):
        self.inputs = (x, mixture, timestep, text_dropout_mask)
        return type("Out", (), {"sample": torch.zeros_like(x)})()


def test_flow_matching_objective():
    x0, mix = torch.randn(4, 8, 6, 16), torch.randn(4, 8, 6, 16)
    states, mask = torch.randn(4, 3, 32), torch.ones(4, 3, dtype=torch.long)
    model, objective = ZeroVelocity(), FlowMatchingObjective("logit_normal", text_dropout=0.5)
    out = objective(model, x0, mix, states, mask, generator=torch.Generator().manual_seed(0))
    again = objective(model, x0, mix, states, mask, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out.loss, again.loss)
    x_sigma, _, timestep, drop = model.inputs
    noise = (x_sigma - (1 - out.sigma.view(-1, 1, 1, 1)) * x0) / out.sigma.view(-1, 1, 1, 1)
    torch.testing.assert_close(out.loss, (noise - x0).pow(2).mean(), rtol=1e-4, atol=1e-4)  # v = noise - x0
    torch.testing.assert_close(timestep, out.sigma * 1000)
    assert drop.dtype == torch.bool and drop.shape == (4,)
    objective(model, x0, mix, states, mask, text_dropout=0.0)
    assert not model.inputs[3].any()


def test_mixture_source_objective_regresses_mixture_minus_target():
    """With the "mixture" source and no start noise the path runs from the mixture latent to the target."""
    x0, mix = torch.randn(4, 8, 6, 16), torch.randn(4, 8, 6, 16)
    states, mask = torch.randn(4, 3, 32), torch.ones(4, 3, dtype=torch.long)
    model = ZeroVelocity()
    objective = FlowMatchingObjective(source="mixture", source_noise=0.0)
    out = objective(model, x0, mix, states, mask, generator=torch.Generator().manual_seed(0))
    sigma = out.sigma.view(-1, 1, 1, 1)
    torch.testing.assert_close(model.inputs[0], (1 - sigma) * x0 + sigma * mix)
    torch.testing.assert_close(out.loss, (mix - x0).pow(2).mean())
    noisy = FlowMatchingObjective(source="mixture", source_noise=0.5)(
        model, x0, mix, states, mask, generator=torch.Generator().manual_seed(0)
    )
    assert not torch.allclose(noisy.loss, out.loss)


def test_fine_tuning_overrides_the_flow_source(stages, corpus, tmp_path, mixture_wav):
    """`init_from` plus `model:` keeps the weights and changes config entries such as the flow's source."""
    overrides = {
        **flow_overrides(corpus, stages["vae"]), "init_from": str(stages["flow"] / "transformer"),
        "model.source": "mixture", "model.source_noise": 0.25, "trainer.max_steps": 1,
    }  # fmt: skip
    tuned = train("flow.yaml", tmp_path / "tuned", overrides)
    config = yaml.safe_load((tuned / "transformer" / "config.json").read_text())
    assert config["source"] == "mixture" and config["source_noise"] == 0.25
    original = load_file(stages["flow"] / "transformer" / "diffusion_pytorch_model.safetensors")
    changed = load_file(tuned / "transformer" / "diffusion_pytorch_model.safetensors")
    assert original.keys() == changed.keys()
    parts = {
        "assemble.vae": str(stages["vae"]), "assemble.transformer": str(tuned),
        "assemble.vocoder": str(stages["vocoder"]), "assemble.text_encoder": corpus["text_encoder"],
        "assemble.source_noise": 0.0,
    }  # fmt: skip
    pipe = FlowSepPipeline.from_pretrained(train("assemble.yaml", tmp_path / "pipeline", parts))
    pipe.set_progress_bar_config(disable=True)
    assert pipe.config.source_noise == 0.0
    outputs = [
        pipe(
            "a steady high beep", str(mixture_wav), num_inference_steps=2, generator=torch.manual_seed(seed)
        ).audios
        for seed in (0, 1)
    ]
    assert (outputs[0] == outputs[1]).all()  # no start noise: the seed does not matter


@pytest.mark.slow
def test_two_processes_over_gloo(stages, corpus, tmp_path):
    """`accelerate launch --multi_gpu --num_processes 2` on a CPU machine: 2 processes, gloo, DDP."""
    for recipe, overrides in (
        ("flow.yaml", flow_overrides(corpus, stages["vae"])),
        ("vocoder.yaml", data_overrides(corpus)),
    ):
        command = [
            sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
            "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "flowsep.train",
            str(RECIPES / recipe), "--output-dir", str(tmp_path / recipe), *sets(overrides),
        ]  # fmt: skip
        environment = {**os.environ, "HF_HUB_OFFLINE": "1"}
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=600, env=environment, check=False
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert "2 processes, MULTI_CPU" in result.stdout + result.stderr
