"""Every key of the shipped recipes (recipes/*/*.yaml) reaches the component it configures.

Each stage recipe (flow, vae, vocoder; the paper-size vae and vocoder under ``-m slow``) is loaded from its real
YAML in a sandbox folder holding what its paths name (toy manifests with train and valid rows, a tiny VAE and
vocoder), and its stage is built by the real :class:`Trainer` (models, frozen parts, objective, datasets,
optimisers, schedules, EMA); each assemble recipe writes its pipeline folder from tiny stage outputs. Then every
key of the YAML is read back from the built objects, never from the recipe's dataclasses: a key that a stage
silently ignores (so that its default applies) fails here, unless the recipe's value is the default itself. A
key with no probe fails too, so a new recipe key must say where it lands. The text encoder is replaced by a
tiny one of the recipe's width (the name asked for is recorded).
"""

import importlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from accelerate.state import AcceleratorState, GradientState
from diffusers import AutoencoderKL
from transformers import T5Config, T5EncoderModel

from flowsep.data import ClipRecord, collate_batch, read_manifest, write_manifest
from flowsep.data.datasets import class_balance_weights
from flowsep.models import LogMelLatent
from flowsep.schedulers import SOLVERS
from flowsep.testing import tiny_components, tiny_tokenizer
from flowsep.training import STAGE_TASKS, FlowStage, Trainer, VAEStage, load_recipe, stage_flow
from flowsep.training.toy_corpus import SOUNDS, synthesize

pytestmark = pytest.mark.filterwarnings("ignore:This DataLoader will create")  # workers are never started

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
FLOW_RECIPES = ["mini-mel/flow.yaml", "mini-mel/flow_gpu.yaml", "tiny/flow.yaml", "paper/flow.yaml"]
STAGE_RECIPES = [
    *FLOW_RECIPES, "tiny/vae.yaml", "tiny/vocoder.yaml",
    *(pytest.param(name, marks=pytest.mark.slow) for name in ("paper/vae.yaml", "paper/vocoder.yaml")),  # 5 s
]  # fmt: skip
# Keys that act only inside the training loop (when to checkpoint, validate, log, stop): what they reach is the
# loop of Trainer.train, exercised by tests/test_training.py's 2-step runs of the tiny recipes.
LOOP_KEYS = {
    "output_dir", "trainer.checkpointing_steps", "trainer.checkpoints_total_limit", "trainer.validation_steps",
    "trainer.validation_batches", "trainer.validation_samples", "trainer.progress_bar",
}  # fmt: skip


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    yield
    AcceleratorState._reset_state(True)
    GradientState._reset_state()


def flat(raw: dict, prefix: str = "") -> dict:
    """``{"data": {"snr_range": [..]}}`` -> ``{"data.snr_range": [..]}``; ``model`` entries as ``model.KEY``."""
    out = {}
    for key, value in raw.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def write_toy_manifest(path: Path, tag: str, clips: int) -> None:
    """``clips`` clips of each toy sound, alternately in the train and valid splits, ids unique to ``tag``."""
    rng, records = np.random.default_rng(abs(hash(tag)) % 2**32), []
    for kind, caption in SOUNDS.items():
        for number in range(clips):
            audio = path.parent / "audio" / f"{tag}-{kind}-{number}.wav"
            audio.parent.mkdir(parents=True, exist_ok=True)
            sf.write(audio, synthesize(kind, 0.5, 16000, rng), 16000)
            split = "train" if number % 2 == 0 else "valid"
            records.append(ClipRecord(f"{tag}-{kind}-{number}", str(audio), [caption], [kind], 0.5, split))
    write_manifest(records, path)


def sandbox(folder: Path, raw: dict) -> None:
    """Write what the recipe's paths name, relative to ``folder`` (the working directory of the build)."""
    data, flow = raw.get("data", {}), raw.get("flow", {})
    clips = 2 * math.ceil(raw["trainer"]["batch_size"] / len(SOUNDS))  # one batch of training rows at least
    for manifest in {*data.get("train", []), *data.get("valid", [])}:
        write_toy_manifest(folder / manifest, Path(manifest).stem, max(clips, 4))
    parts = tiny_components()
    if flow.get("vae"):
        vae: AutoencoderKL = parts["vae"]
        vae.register_to_config(scaling_factor=0.4321)
        vae.save_pretrained(folder / flow["vae"])
    if flow.get("vocoder"):
        parts["vocoder"].save_pretrained(folder / flow["vocoder"])


class FakeTextEncoder:
    """``load_text_encoder``: a tiny T5 of the width ``text_embed_dim`` asks for; records the names asked."""

    def __init__(self, width: int):
        self.width, self.names = width, []

    def __call__(self, name: str):
        self.names.append(name)
        tokenizer = tiny_tokenizer()
        config = T5Config(
            vocab_size=len(tokenizer), d_model=self.width, d_kv=8, d_ff=32, num_layers=1, num_heads=2
        )
        return T5EncoderModel(config).eval().requires_grad_(False), tokenizer


class ZeroVelocity(torch.nn.Module):
    """Predicts zero velocity; records the rows' noise levels and dropped texts."""

    def forward(self, x, mixture, timestep, encoder_hidden_states, encoder_attention_mask, text_dropout_mask):
        self.timestep, self.drop = timestep, text_dropout_mask
        return type("Out", (), {"sample": torch.zeros_like(x)})()


@pytest.fixture(scope="module", params=STAGE_RECIPES)
def built(request, tmp_path_factory):
    """``(raw YAML, sandbox folder, trainer after _setup, fake text encoder)`` of one shipped stage recipe."""
    raw = yaml.safe_load((RECIPES / request.param).read_text())
    folder = tmp_path_factory.mktemp(request.param.replace("/", "-"))
    sandbox(folder, raw)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(folder)
            fake = FakeTextEncoder(raw["model"].get("text_embed_dim", 32))
            patch.setattr(stage_flow, "load_text_encoder", fake)
            recipe = load_recipe(RECIPES / request.param)
            trainer = Trainer(recipe, STAGE_TASKS[recipe.stage](recipe))
            trainer._setup()
            yield raw, folder, trainer, fake
    finally:  # each recipe builds its own Accelerator (mixed precision differs)
        AcceleratorState._reset_state(True)
        GradientState._reset_state()


def lr_factor(kind: str, step: int, warmup: int, total: int) -> float:
    """diffusers' schedules, written out: linear warm-up, then constant, cosine to 0 or linear to 0."""
    if step < warmup:
        return step / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return {"constant_with_warmup": 1.0, "constant": 1.0, "cosine": 0.5 * (1 + math.cos(math.pi * progress)),
            "linear": 1.0 - progress}[kind]  # fmt: skip


def records_of(folder: Path, manifests: list[str], split: str | None) -> set[str]:
    return {r.id for m in manifests for r in read_manifest(folder / m) if split is None or r.split == split}


def probe(key: str, value, raw: dict, folder: Path, trainer: Trainer, fake: FakeTextEncoder, done: set):
    """Assert that ``key: value`` of the YAML is what the built stage uses (or return False: no probe). Checks
    that cover several keys run once per recipe (``done``)."""

    def once(check, *args):
        if check not in done:
            done.add(check)
            check(*args)

    stage, t = trainer.task, raw.get("trainer", {})
    train, valid, trained = trainer.train_set, trainer.valid_set, trainer.task.ema_model
    model = trainer.unwrapped[trained]
    optimizer = trainer.optimizers[trained].optimizer
    schedule = trainer.schedulers[trained].scheduler
    section, _, name = key.partition(".")
    if section == "model":
        config = model.vae.config if isinstance(stage, VAEStage) else model.config  # the VAE's wrapper
        assert plain(config[name]) == value
        if name in ("source", "source_noise"):  # the objective learns the flow the transformer's config names
            assert getattr(stage.objective, name) == value
    elif key == "stage":
        assert type(stage) is STAGE_TASKS[value]
    elif section == "vae":
        once(check_vae_losses, raw["vae"], stage)
    elif section == "vocoder":
        once(check_vocoder, raw["vocoder"], stage, trainer.unwrapped["discriminator"], train)
    elif key == "seed":
        assert train.clips.seed == valid.clips.seed == value
    elif key in ("data.train", "data.valid"):
        split = raw["data"].get(f"{name}_split")
        dataset = train if name == "train" else valid
        assert {r.id for r in dataset.clips.records} == records_of(folder, value, split)
    elif key in ("data.train_split", "data.valid_split"):
        dataset = train if name == "train_split" else valid
        assert {r.split for r in dataset.clips.records} == {value}
    elif key == "data.segment_seconds":
        samples = round(value * 16000)
        assert train[0]["mixture"].shape == valid[0]["mixture"].shape == (samples,)
        if isinstance(stage, FlowStage):
            assert stage.codec.latent_frames(samples) == model.config.sample_size
    elif key == "data.snr_range":
        assert train.snr_range == valid.snr_range == tuple(value)
        assert value[0] - 1e-3 <= train[0]["snr_db"] <= value[1] + 1e-3
    elif key == "data.num_interferers":
        assert len(train[0]["interferer_ids"]) == value
    elif key == "data.reference_rms":
        assert stage.codec.reference_rms == value
    elif key == "data.num_workers":
        assert trainer.loader.num_workers == value
    elif key == "data.keep_in_memory":
        assert (train.clips.decoded is not None) == value
    elif key == "data.bandlimit_prob":
        assert train.bandlimit_prob == value and valid.bandlimit_prob == 0.0  # training mixtures only
    elif key == "data.bandlimit_hz":
        assert train.bandlimit_hz == tuple(value)
    elif key == "data.class_balance":  # targets and interferers of training mixtures only
        expected = class_balance_weights(train.clips.records, value)
        assert valid.sample_weights is None and np.allclose(train.sample_weights, expected)
    elif key == "trainer.batch_size":
        assert trainer.loader.total_batch_size == value  # one process
    elif key == "trainer.gradient_accumulation_steps":
        assert trainer.accelerator.gradient_accumulation_steps == value
    elif key == "trainer.learning_rate":
        assert optimizer.param_groups[0]["initial_lr"] == pytest.approx(value)
    elif key in ("trainer.adam_beta1", "trainer.adam_beta2"):
        assert optimizer.param_groups[0]["betas"] == (t.get("adam_beta1", 0.9), t.get("adam_beta2", 0.999))
    elif key == "trainer.weight_decay":
        assert optimizer.param_groups[0]["weight_decay"] == value
    elif key in ("trainer.lr_scheduler", "trainer.lr_warmup_steps", "trainer.max_steps"):
        kind = t.get("lr_scheduler", "constant_with_warmup")
        warmup, total = t.get("lr_warmup_steps", 0), t.get("max_steps", 1000)
        for step in sorted({warmup // 2, warmup, (warmup + total) // 2, total}):
            assert schedule.lr_lambdas[0](step) == pytest.approx(
                lr_factor(kind, step, warmup, total), abs=1e-6
            )
    elif key == "trainer.max_grad_norm":
        seen = []
        with pytest.MonkeyPatch.context() as patch:  # clipping recorded; no optimiser or schedule step taken
            patch.setattr(trainer.accelerator, "clip_grad_norm_", lambda parameters, norm: seen.append(norm))
            patch.setattr(trainer.optimizers[trained], "step", lambda: None)
            patch.setattr(trainer.schedulers[trained], "step", lambda: None)
            trainer.optimize(trained, 0.0 * next(p for p in model.parameters() if p.requires_grad).sum())
        assert seen == [value]
    elif key == "trainer.mixed_precision":
        assert trainer.accelerator.mixed_precision == value
        frozen = getattr(stage, "text_encoder", None)  # the flow's frozen parts take the autocast dtype
        assert frozen is None or frozen.dtype == (
            torch.bfloat16 if value == "bf16" else torch.float32
        )  # frozen parts
    elif key == "trainer.use_ema":
        assert (trainer.ema is not None) == value
    elif key == "trainer.ema_decay":
        assert trainer.ema.decay == value
    elif key == "trainer.log_with":
        assert [tracker.lower() for tracker in map(str, trainer.accelerator.log_with)] == [value]
    elif key == "flow.codec":
        assert isinstance(stage.codec.vae, LogMelLatent if value == "mel" else AutoencoderKL)
    elif key == "flow.vae":
        assert stage.codec.vae.config.scaling_factor == 0.4321  # the folder's VAE, with its scaling factor
    elif key == "flow.vocoder":
        assert stage.vocoder is not None and stage.vocoder.config["_name_or_path"] == value
    elif key == "flow.text_encoder":
        assert fake.names == [value]
    elif key in ("flow.timestep_sampling", "flow.text_dropout", "flow.source_sigma_prob"):
        once(check_noise_levels_and_dropout, raw["flow"], stage)
    elif key in ("flow.velocity_loss_weight", "flow.waveform_loss_weight"):
        once(check_loss_weights, raw["flow"], stage, train)
    elif key in ("flow.inference_steps", "flow.guidance_scale"):
        once(check_example_settings, raw["flow"], stage, valid)
    elif key in LOOP_KEYS:
        pass
    else:
        return False
    return True


def plain(value):
    """Tuples as lists, as YAML writes them."""
    return [plain(item) for item in value] if isinstance(value, (list, tuple)) else value


class Posterior:
    def __init__(self, kl: float):
        self.value = kl

    def kl(self):
        return torch.tensor([self.value])


def check_vae_losses(config: dict, stage, kl: float = 3.0):
    """The VAE's loss on a stand-in that reconstructs ``images + 0.1`` with a KL of 3: the reconstruction
    distance (l1: 0.1, l2: 0.01), ``kl_weight`` times the KL per bin, ``multiscale_weight`` times the two pooled
    L1 terms (0.1 each); and ``scaling_batches`` batches read for the scaling factor."""
    images = torch.randn(2, 1, 16, 8, generator=torch.Generator().manual_seed(0))
    losses = stage._losses(lambda x, generator=None: (x + 0.1, Posterior(kl)), images, None)
    distance = {"l1": 0.1, "l2": 0.01}[config.get("reconstruction", "l1")]
    expected = distance + config.get("kl_weight", 1e-6) * kl / images.numel()
    expected += config.get("multiscale_weight", 0.0) * 0.2
    assert float(losses["loss"]) == pytest.approx(expected, rel=1e-4)
    batches, count = config.get("scaling_batches", 8), []
    items = [{"mixture": torch.zeros(4), "target": torch.zeros(4)}] * (
        stage.recipe.trainer.batch_size * (batches + 3)
    )
    dataset = type("Items", (list,), {"set_epoch": lambda self, epoch: None})(items)
    latent = type(
        "Latent", (), {"latent_dist": type("Dist", (), {"mode": lambda self: torch.ones(1, 2)})()}
    )()
    vae = type(
        "VAE", (), {"dtype": torch.float32, "eval": lambda self: self, "encode": lambda self, x: latent}
    )()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stage, "train_dataset", lambda: dataset)
        patch.setattr(stage, "_images", lambda batch: count.append(1) or torch.zeros(1))
        stage.scaling_factor(vae)
    assert len(count) == batches


def check_vocoder(config: dict, stage, discriminator, train):
    """Crops of ``segment_frames``, the discriminators ``mpd_reshapes``/``discriminator``/``resolutions``/
    ``discriminator_channel_mult``/``use_spectral_norm`` build, and the mel loss (``multiscale_mel``) weighted
    by ``lambda_mel`` in validation."""
    batch = collate_batch([train[0], train[1]])
    crops = stage._crops(batch, torch.Generator().manual_seed(0))
    assert crops.shape == (4, config.get("segment_frames", 32) * stage.mel.hop_length)
    assert [d.period for d in discriminator.mpd.discriminators] == config.get(
        "mpd_reshapes", [2, 3, 5, 7, 11]
    )
    kind = {"mrd": "MultiResolutionDiscriminator", "mbd": "MultiBandDiscriminator"}
    assert type(discriminator.spectral).__name__ == kind[config.get("discriminator", "mrd")]
    if "resolutions" in config:
        assert [plain(d.resolution) for d in discriminator.spectral.discriminators] == config["resolutions"]
    first = discriminator.mpd.discriminators[0].convs[0]
    assert first.out_channels == int(32 * config.get("discriminator_channel_mult", 1.0))
    assert hasattr(first, "weight_u") == config.get(
        "use_spectral_norm", False
    )  # spectral_norm's power iterate
    fake = torch.zeros_like(crops) + 0.01
    models = {"generator": lambda mel: fake}
    logs = stage.validation_step(batch, models, torch.Generator().manual_seed(0))
    assert float(logs["loss"]) == pytest.approx(config.get("lambda_mel", 45.0) * float(logs["mel_l1"]))
    plain_l1 = torch.nn.functional.l1_loss(stage.codec.log_mel(fake), stage.codec.log_mel(crops))
    multiscale = stage.multiscale(fake.unsqueeze(1), crops.unsqueeze(1))
    expected = multiscale if config.get("multiscale_mel", False) else plain_l1
    assert float(stage._mel_loss(fake, crops)) == pytest.approx(float(expected), rel=1e-5)


def check_noise_levels_and_dropout(flow: dict, stage: FlowStage, rows: int = 4000):
    """4,000 rows through the built objective: the dropped share, the share at the source, and the spread of
    the other noise levels (uniform: 20% in [0.4, 0.6]; logit-normal(0, 1): 31%)."""
    model, zeros = ZeroVelocity(), torch.zeros(rows, 1, 1, 1)
    stage.objective(model, zeros, zeros, torch.zeros(rows, 1, 4), torch.ones(rows, 1, dtype=torch.long),
                    generator=torch.Generator().manual_seed(0))  # fmt: skip
    sigma = model.timestep / 1000
    assert abs(model.drop.float().mean() - flow.get("text_dropout", 0.1)) < 0.025
    at_source = sigma == 1.0
    assert abs(at_source.float().mean() - flow.get("source_sigma_prob", 0.0)) < 0.025
    middle = ((sigma > 0.4) & (sigma < 0.6))[~at_source].float().mean()
    expected = {"uniform": 0.2, "logit_normal": 0.31}[flow.get("timestep_sampling", "uniform")]
    assert abs(middle - expected) < 0.04


def check_loss_weights(flow: dict, stage: FlowStage, train):
    """The stage's loss is ``velocity_loss_weight * velocity MSE + waveform_loss_weight * waveform loss``,
    each part computed from the same draws."""
    batch = collate_batch([train[0], train[1]])
    model, inputs = ZeroVelocity(), stage._inputs(batch)
    loss = stage._loss(model, batch, torch.Generator().manual_seed(1))
    parts = stage.objective(
        model, inputs["target_latents"], inputs["mixture_latents"], inputs["text_states"], inputs["text_mask"],
        generator=torch.Generator().manual_seed(1),
    )  # fmt: skip
    waveform = stage._waveform_loss(parts.predicted_target, inputs)
    assert float(parts.loss) > 0 and abs(float(waveform)) > 0
    expected = (
        flow.get("velocity_loss_weight", 1.0) * parts.loss + flow.get("waveform_loss_weight", 0.0) * waveform
    )
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)


def check_example_settings(flow: dict, stage: FlowStage, valid):
    """The validation separations run with the recipe's steps and guidance."""
    calls = []

    class Recorder:
        def __call__(self, caption, mixture, **kwargs):
            calls.append(kwargs)
            return type("Out", (), {"audios": [mixture]})()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stage_flow, "build_pipeline", lambda *args: Recorder())
        patch.setattr(stage_flow, "write_example", lambda *args: None)
        stage.write_examples([valid[0]], {"transformer": None}, Path.cwd(), "cpu")
    assert calls[0]["num_inference_steps"] == flow.get("inference_steps", 10)
    assert calls[0]["guidance_scale"] == flow.get("guidance_scale", 1.0)


def test_every_key_of_the_stage_recipes_reaches_the_built_stage(built, tmp_path, monkeypatch):
    """Guards against a recipe key that never reaches its component (the objective, the datasets, the
    transformer, the codec, the optimiser and schedule, the validation separations) and silently takes its
    default: each key's value is read back from the built objects. A key with no probe fails."""
    raw, folder, trainer, fake = built
    monkeypatch.chdir(tmp_path)  # write_examples writes a caption file here, never into the repository
    done = set()
    unprobed = [
        key for key, value in flat(raw).items() if not probe(key, value, raw, folder, trainer, fake, done)
    ]
    assert unprobed == [], f"keys with no probe: {unprobed}"


# ---------------------------------------------------------------- assembly

ASSEMBLE_RECIPES = [
    "mini-mel/assemble.yaml",
    "mini-mel/assemble_gpu.yaml",
    "tiny/assemble.yaml",
    "paper/assemble.yaml",
]
MARK_FRAMES = 6  # the sandbox transformer's sample_size: found in the assembled folder, it came from there


def assemble_sandbox(folder: Path, raw: dict) -> None:
    """Stage outputs where the recipe's ``assemble`` section points (``<path>/<role>/config.json``), and its
    training manifests."""
    section = raw["assemble"]
    for manifest in raw.get("data", {}).get("train", []):
        write_toy_manifest(folder / manifest, Path(manifest).stem, 2)
    parts = tiny_components(sample_size=MARK_FRAMES)
    parts["vae"].register_to_config(scaling_factor=0.4321)
    for role in ("vae", "transformer", "vocoder"):
        if section.get(role):
            parts[role].save_pretrained(folder / section[role] / role)


def read_config(folder: Path, role: str) -> dict:
    return json.loads((folder / role / "config.json").read_text())


def test_every_key_of_the_assemble_recipes_reaches_the_pipeline_folder(tmp_path):
    """Guards against an ``assemble`` key that never reaches the pipeline it writes (the scheduler, the start
    noise, the text encoder's name or bundling, the codec, a component's folder, the output folder): each
    recipe is assembled from its real YAML and every key is read back from the written folder."""
    assemble_module = importlib.import_module("flowsep.training.assemble")  # the name is also a function
    for name in ASSEMBLE_RECIPES:
        raw, folder = yaml.safe_load((RECIPES / name).read_text()), tmp_path / name.replace("/", "-")
        assemble_sandbox(folder, raw)
        fake = FakeTextEncoder(32)  # the tiny transformer's text width
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(folder)
            patch.setattr(assemble_module, "load_text_encoder", fake)
            written = assemble_module.assemble(load_recipe(RECIPES / name))
        out = folder / written
        index = json.loads((out / "model_index.json").read_text())
        unprobed = []
        for key, value in flat(raw).items():
            if key == "stage":
                assert value == "assemble" and written == Path(raw["output_dir"])
            elif key == "output_dir":
                assert (folder / value / "model_index.json").is_file()
            elif key == "assemble.codec":
                assert index["vae"][1] == ("LogMelLatent" if value == "mel" else "AutoencoderKL")
            elif key == "assemble.vae":
                assert read_config(out, "vae")["scaling_factor"] == 0.4321
            elif key == "assemble.transformer":
                assert read_config(out, "transformer")["sample_size"] == MARK_FRAMES
            elif key == "assemble.vocoder":
                assert (
                    index["vocoder"][1] == "BigVGANVocoder"
                    and read_config(out, "vocoder")["upsample_initial_channel"] == 32
                )
            elif key == "assemble.text_encoder":
                assert fake.names == [value] and index["text_encoder_name"] == value
            elif key == "assemble.scheduler":
                assert index["scheduler"][1] == SOLVERS[value].__name__
            elif key == "assemble.bundle_text_encoder":
                assert (index["text_encoder"][0] is not None) == value == (out / "text_encoder").is_dir()
            elif key == "assemble.source_noise":
                assert index["source_noise"] == value
            elif key == "data.train":  # the classes of the training manifests, in the folder's queries.json
                labels = [
                    entry["label"] for entry in json.loads((out / "queries.json").read_text())["classes"]
                ]
                assert labels == sorted(SOUNDS)
            else:
                unprobed.append(key)
        assert unprobed == [], f"{name}: keys with no probe: {unprobed}"
