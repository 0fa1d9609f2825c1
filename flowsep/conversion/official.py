"""Convert the official FlowSep checkpoint (``v2_100k.ckpt``) into a flowsep pipeline folder.

The checkpoint's UNet becomes a :class:`~flowsep.models.unet_flowsep.FlowSepUNet` (which adapts the official
flow convention), its KL autoencoder a diffusers ``AutoencoderKL`` (``scale_factor`` -> ``scaling_factor``), its
BigVGAN a :class:`~flowsep.models.vocoder.BigVGANVocoder` and its Flan-T5 a transformers ``T5EncoderModel``,
whose config and tokenizer come from ``text_encoder`` (a folder or hub id of google/flan-t5-large). Widths are
read from the tensors' shapes; what shapes cannot tell (heads, norm groups, upsampling rates, dilations) comes
from :class:`OfficialArchitecture`. Components are converted and saved one at a time; every tensor of the
checkpoint is used exactly once or reported.

The folder also records how the authors' inference runs (:data:`OFFICIAL_INFERENCE`, read by the pipeline and
its :class:`~flowsep.codec.AudioCodec`): their mel framing, level and posterior sample, the uniform Euler grid
and the vocoder, and queries truncated at 50 tokens; ``eval/official_parity.py`` checks it against their code.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import diffusers
import torch
from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler

from ..errors import CheckpointError
from ..models.unet_flowsep import FlowSepUNet
from ..models.vocoder import BigVGANVocoder
from .checkpoint import read_state_dict
from .inputs import check_conversion
from .official_names import (
    SCALE_FACTOR_KEY,
    TEXT_ENCODER_PREFIX,
    UNET_PREFIX,
    UNUSED_BY_DESIGN,
    VAE_PREFIX,
    VOCODER_PREFIX,
    from_official,
    text_encoder_names,
    unet_names,
    vae_names,
    vocoder_names,
)

COMPONENT_PREFIXES = {
    "unet": UNET_PREFIX,
    "vocoder": VOCODER_PREFIX,
    "vae": VAE_PREFIX,
    "text_encoder": TEXT_ENCODER_PREFIX,
}


@dataclass
class OfficialArchitecture:
    """Facts of the official configuration that tensor shapes do not reveal (defaults: ``2channel_flow.yaml``)."""

    attention_head_dim: int = 32
    unet_norm_groups: int = 32
    vae_norm_groups: int = 32
    upsample_rates: tuple[int, ...] = (5, 4, 2, 2, 2)
    resblock_dilations: tuple[int, ...] = (1, 3, 5)
    null_text_length: int = 50
    sample_size: int = 256


# The authors' inference (lass_inference.py and what it calls), as pipeline settings: TacotronSTFT mel frames,
# each clip less its mean and at a peak of 0.5, the mixture latent sampled from the VAE posterior, Euler steps on
# t = linspace(0, 1, N + 1), the BigVGAN vocoder
OFFICIAL_INFERENCE = {
    "framing": "tacotron",
    "normalization": "peak",
    "reference_peak": 0.5,
    "latent_posterior": "sample",
    "sigma_grid": "uniform",
    "default_decoder": "vocoder",
}
OFFICIAL_MAX_TOKENS = 50  # their captions are tokenised with truncation at 50 tokens


@dataclass
class ConversionReport:
    """What a conversion read and wrote."""

    checkpoint: str
    output: str
    parameters: dict[str, int] = field(default_factory=dict)
    tensors: dict[str, int] = field(default_factory=dict)
    scaling_factor: float | None = None
    unused_by_design: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _shape(state: dict, key: str) -> torch.Size:
    if key not in state:
        raise CheckpointError(f"not an official FlowSep checkpoint: tensor {key!r} is missing")
    return state[key].shape


def unet_config(state: dict, arch: OfficialArchitecture) -> dict:
    """FlowSepUNet arguments from the checkpoint's UNet shapes."""
    p = UNET_PREFIX
    blocks = {
        int(m.group(1)) for k in state if (m := re.match(re.escape(p) + r"input_blocks\.(\d+)\.0\.op\.", k))
    }
    if not blocks:
        raise CheckpointError("not an official FlowSep checkpoint: its UNet has no down-sampling blocks")
    layers = min(blocks) - 1
    channels = [_shape(state, f"{p}input_blocks.{1 + level * (layers + 1)}.0.out_layers.3.weight")[0]
                for level in range(len(blocks) + 1)]  # fmt: skip
    text = _shape(state, f"{p}input_blocks.{layers + 3}.2.transformer_blocks.0.attn2.to_k.weight")[1]
    return dict(
        latent_channels=_shape(state, f"{p}input_blocks.0.0.weight")[1] // 2, block_out_channels=tuple(channels),
        layers_per_block=layers, attention_head_dim=arch.attention_head_dim, norm_num_groups=arch.unet_norm_groups,
        text_embed_dim=text, null_text_length=arch.null_text_length, sample_size=arch.sample_size,
        latent_frequency_bins=16, source="noise",
    )  # fmt: skip


def vae_config(state: dict, arch: OfficialArchitecture) -> dict:
    """AutoencoderKL arguments from the checkpoint's autoencoder shapes."""
    p = VAE_PREFIX + "encoder.down."
    levels = 1 + max(int(k[len(p) :].split(".")[0]) for k in state if k.startswith(p))
    layers = 1 + max(
        int(m.group(1)) for k in state if (m := re.match(re.escape(p) + r"0\.block\.(\d+)\.", k))
    )
    channels = tuple(_shape(state, f"{p}{level}.block.0.conv1.weight")[0] for level in range(levels))
    return dict(
        in_channels=_shape(state, VAE_PREFIX + "encoder.conv_in.weight")[1],
        out_channels=_shape(state, VAE_PREFIX + "decoder.conv_out.weight")[0],
        latent_channels=_shape(state, VAE_PREFIX + "post_quant_conv.weight")[0], block_out_channels=channels,
        down_block_types=("DownEncoderBlock2D",) * levels, up_block_types=("UpDecoderBlock2D",) * levels,
        layers_per_block=layers, norm_num_groups=arch.vae_norm_groups,
    )  # fmt: skip


def vocoder_config(state: dict, arch: OfficialArchitecture) -> dict:
    """BigVGANVocoder arguments from the checkpoint's vocoder shapes."""
    p = VOCODER_PREFIX
    ups = 1 + max(int(k[len(p) + 4 :].split(".")[0]) for k in state if k.startswith(p + "ups."))
    resblocks = 1 + max(int(k[len(p) + 10 :].split(".")[0]) for k in state if k.startswith(p + "resblocks."))
    per_level = resblocks // ups
    pre = _shape(state, p + "conv_pre.weight")
    convs = 1 + max(
        int(m.group(1)) for k in state if (m := re.match(re.escape(p) + r"resblocks\.0\.convs1\.(\d+)\.", k))
    )
    hop = 1
    for rate in arch.upsample_rates:
        hop *= rate
    return dict(
        num_mels=pre[1], upsample_initial_channel=pre[0], upsample_rates=arch.upsample_rates,
        upsample_kernel_sizes=tuple(_shape(state, f"{p}ups.{i}.0.weight")[2] for i in range(ups)),
        resblock="1" if any(k.startswith(p + "resblocks.0.convs2.") for k in state) else "2",
        resblock_kernel_sizes=tuple(_shape(state, f"{p}resblocks.{j}.convs1.0.weight")[2] for j in range(per_level)),
        resblock_dilation_sizes=(tuple(arch.resblock_dilations[:convs]),) * per_level,
        activation="snakebeta" if p + "activation_post.act.beta" in state else "snake", hop_size=hop,
    )  # fmt: skip


def load_component(model: torch.nn.Module, names: dict[str, str], state: dict, used: set) -> torch.nn.Module:
    """Fill ``model`` (built on the meta device) from the checkpoint through ``names``; fail on a missing
    tensor or a shape mismatch; add the checkpoint keys read to ``used``."""
    target = model.state_dict()
    missing = sorted(official for official in names.values() if official not in state)
    if missing:
        raise CheckpointError(f"{len(missing)} tensor(s) missing from the checkpoint, e.g. {missing[:5]}")
    values = {}
    for key, official in names.items():
        value = from_official(key, official, state[official])
        if value.shape != target[key].shape:
            raise CheckpointError(
                f"{official}: shape {tuple(state[official].shape)} does not fit {key} {tuple(target[key].shape)}"
            )
        values[key] = value.to(target[key].dtype)
        used.add(official)
    model.load_state_dict(values, strict=False, assign=True)
    left = [name for name, tensor in [*model.named_parameters(), *model.named_buffers()] if tensor.is_meta]
    if left:
        raise CheckpointError(f"the conversion left {len(left)} tensor(s) unset, e.g. {left[:5]}")
    return model.eval()


def _load_text_side(name_or_path: str):
    from transformers import AutoConfig, AutoTokenizer, T5EncoderModel

    try:
        config, tokenizer = (
            AutoConfig.from_pretrained(name_or_path),
            AutoTokenizer.from_pretrained(name_or_path),
        )
    except (OSError, ValueError) as error:
        raise CheckpointError(
            f"cannot read the text encoder's config and tokenizer from {name_or_path}: {error}"
        ) from None
    with torch.device("meta"):
        encoder = T5EncoderModel(config)
    return encoder, tokenizer


@torch.no_grad()
def null_text_states(text_encoder, tokenizer, length: int) -> torch.Tensor:
    """The official unconditional text: the empty caption padded to ``length`` tokens, ``(1, length, E)``."""
    tokens = tokenizer([""], max_length=length, padding="max_length", truncation=True, return_tensors="pt")
    return text_encoder(input_ids=tokens.input_ids, attention_mask=tokens.attention_mask)[0].float()


def _model_index(tokenizer) -> dict:
    from ..pipelines import FlowSepPipeline

    index = {
        "_class_name": FlowSepPipeline.__name__, "_diffusers_version": diffusers.__version__,
        "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"], "text_encoder": ["transformers", "T5EncoderModel"],
        "tokenizer": ["transformers", type(tokenizer).__name__], "transformer": [FlowSepUNet.__module__, FlowSepUNet.__name__],
        "vae": ["diffusers", "AutoencoderKL"], "vocoder": [BigVGANVocoder.__module__, BigVGANVocoder.__name__],
    }  # fmt: skip
    import inspect

    for name, parameter in inspect.signature(FlowSepPipeline.__init__).parameters.items():
        if name not in index and name != "self":
            index[name] = parameter.default
    return index | OFFICIAL_INFERENCE


def convert_official_flowsep(
    checkpoint: str | os.PathLike, output: str | os.PathLike, text_encoder: str,
    architecture: OfficialArchitecture | None = None, trust_pickle: bool = False, overwrite: bool = False,
    log: Callable[[str], None] | None = None,
) -> ConversionReport:  # fmt: skip
    """Convert the official checkpoint into a FlowSepPipeline folder at ``output`` (safetensors only).

    Args:
        checkpoint: the Lightning checkpoint (``v2_100k.ckpt``) or a plain state dict in its layout.
        output: the pipeline folder to write; written beside it first and moved in place when complete.
        text_encoder: folder or hub id with the Flan-T5 config and tokenizer (google/flan-t5-large).
        architecture: facts shapes do not tell; defaults are the official configuration's.
        trust_pickle: unpickle the whole file (only for a file you trust); by default only tensors are read.
        overwrite: replace an existing non-empty ``output``.
        log: called with one line per step (progress).
    """
    log = log or (lambda line: None)
    arch, checkpoint, output = architecture or OfficialArchitecture(), Path(checkpoint), Path(output)
    check_conversion(checkpoint, output, text_encoder, trust_pickle, overwrite)
    log(f"reading {checkpoint}")
    state, notes = read_state_dict(checkpoint, trust_pickle)
    if SCALE_FACTOR_KEY not in state:
        raise CheckpointError(f"not an official FlowSep checkpoint: {SCALE_FACTOR_KEY!r} is missing")
    report = ConversionReport(str(checkpoint), str(output), notes=notes)
    report.scaling_factor = float(state[SCALE_FACTOR_KEY])
    used = {SCALE_FACTOR_KEY}
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        encoder, tokenizer = _load_text_side(text_encoder)
        encoder = load_component(encoder, text_encoder_names(encoder), state, used)
        encoder.tie_weights()
        null_text = null_text_states(encoder, tokenizer, arch.null_text_length)
        _save(encoder, "text_encoder", staging, report, log)
        tokenizer.model_max_length = OFFICIAL_MAX_TOKENS
        tokenizer.save_pretrained(staging / "tokenizer")
        del encoder

        with torch.device("meta"):
            unet = FlowSepUNet(**unet_config(state, arch))
        if unet.config.text_embed_dim != null_text.shape[-1]:
            raise CheckpointError(
                f"the UNet attends to {unet.config.text_embed_dim}-d text but {text_encoder} is {null_text.shape[-1]}-d"
            )
        unet.null_text_embedding = torch.nn.Parameter(null_text, requires_grad=False)  # computed, not read
        unet = load_component(unet, unet_names(unet), state, used)
        _save(unet, "transformer", staging, report, log)
        del unet

        with torch.device("meta"):
            vae = AutoencoderKL(**vae_config(state, arch), scaling_factor=report.scaling_factor)
        _save(load_component(vae, vae_names(vae), state, used), "vae", staging, report, log)
        del vae

        with torch.device("meta"):
            vocoder = BigVGANVocoder(**vocoder_config(state, arch))
        _save(load_component(vocoder, vocoder_names(vocoder), state, used), "vocoder", staging, report, log)
        del vocoder

        FlowMatchEulerDiscreteScheduler().save_pretrained(staging / "scheduler")
        (staging / "model_index.json").write_text(json.dumps(_model_index(tokenizer), indent=2) + "\n")
        _check_unused(state, used, report, log)
        (staging / "conversion_report.json").write_text(json.dumps(asdict(report), indent=1) + "\n")
        _move_into_place(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(f"wrote {output}")
    return report


def _save(model, name: str, staging: Path, report: ConversionReport, log):
    report.parameters[name] = sum(p.numel() for p in model.parameters())
    report.tensors[name] = len(model.state_dict())
    log(f"{name}: {report.parameters[name] / 1e6:.1f} M parameters, saving")
    model.save_pretrained(staging / name, safe_serialization=True)


def _check_unused(state: dict, used: set, report: ConversionReport, log):
    """Fail on unread tensors under a converted component's prefix; report any others."""
    unused = sorted(set(state) - used)
    report.unused_by_design = [k for k in unused if UNUSED_BY_DESIGN.match(k)]
    report.unused = [k for k in unused if not UNUSED_BY_DESIGN.match(k)]
    inside = [k for k in report.unused if k.startswith(tuple(COMPONENT_PREFIXES.values()))]
    if inside:
        raise CheckpointError(
            f"{len(inside)} tensor(s) of a converted component were not used, e.g. {inside[:5]}"
        )
    if report.unused:
        log(
            f"warning: {len(report.unused)} tensor(s) outside the converted components are unused, e.g. {report.unused[:5]}"
        )
    log(f"{len(used)} tensors used, {len(report.unused_by_design)} unused by design (DDPM buffers, logvar)")


def _move_into_place(staging: Path, output: Path):
    """Replace ``output`` by the complete ``staging`` folder; the old one is moved aside under the staging folder's
    name (made in this run, so no other file is touched) and removed only after the move."""
    old = None
    if output.exists():
        old = staging.with_name(f"{staging.name}.old")
        output.rename(old)
    staging.rename(output)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
