"""Tensor names of the official FlowSep checkpoint, mapped onto flowsep's components.

Each ``*_names`` function takes a built flowsep component and returns ``{component key: checkpoint key}`` for
every tensor of the component, so the same table reads a checkpoint (converter), checks names and shapes against
the recorded layout (tests) and writes a checkpoint in the official layout (synthetic test checkpoints). The
official names follow the LDM / AudioLDM 2 modules (``input_blocks``, ``middle_block``, ``output_blocks``; the
KL autoencoder's ``down``/``mid``/``up``; BigVGAN without weight norm; transformers' ``T5EncoderModel``).
"""

from __future__ import annotations

import re

import torch

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
VOCODER_PREFIX = "first_stage_model.vocoder."
TEXT_ENCODER_PREFIX = "cond_stage_models.0.model."
SCALE_FACTOR_KEY = "scale_factor"
# Tensors of the Lightning module that the flow sampler does not use (DDPM schedule buffers, loss weights)
UNUSED_BY_DESIGN = re.compile(
    r"^(betas|alphas_cumprod|alphas_cumprod_prev|sqrt_alphas_cumprod|sqrt_one_minus_alphas_cumprod"
    r"|log_one_minus_alphas_cumprod|sqrt_recip_alphas_cumprod|sqrt_recipm1_alphas_cumprod"
    r"|posterior_variance|posterior_log_variance_clipped|posterior_mean_coef1|posterior_mean_coef2|logvar"
    r"|lvlb_weights)$"
)

RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1",
          "norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}  # fmt: skip
VAE_RESNET = {"conv_shortcut": "nin_shortcut"}
VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def _expand(state_keys, modules: dict[str, tuple[str, dict]], prefix: str, skip: str = "") -> dict[str, str]:
    """``{module: (official module, renames of its sub-modules)}`` -> ``{tensor key: official tensor key}``."""
    names = {}
    for key in state_keys:
        local = key[len(skip) :]
        module = max((m for m in modules if local.startswith(m + ".")), key=len, default=None)
        if module is None:
            raise KeyError(f"no official name for {key}")
        official, renames = modules[module]
        rest = local[len(module) + 1 :]
        for ours, theirs in renames.items():
            if rest.startswith(ours + "."):
                rest = theirs + rest[len(ours) :]
                break
        names[key] = f"{prefix}{official}.{rest}"
    return names


def unet_names(model) -> dict[str, str]:
    """Names of a :class:`~flowsep.models.unet_flowsep.FlowSepUNet` (keys ``unet.*``, ``null_text_embedding``
    excluded: it is computed by the converter, not stored in the checkpoint)."""
    config = model.config
    levels, layers = len(config.block_out_channels), config.layers_per_block
    modules = {
        "time_embedding.linear_1": ("time_embed.0", {}), "time_embedding.linear_2": ("time_embed.2", {}),
        "conv_in": ("input_blocks.0.0", {}), "conv_norm_out": ("out.0", {}), "conv_out": ("out.2", {}),
    }  # fmt: skip
    index = 1
    for level in range(levels):
        attention = level > 0
        for i in range(layers):
            modules[f"down_blocks.{level}.resnets.{i}"] = (f"input_blocks.{index}.0", RESNET)
            for j in range(2 if attention else 0):
                modules[f"down_blocks.{level}.attentions.{2 * i + j}"] = (f"input_blocks.{index}.{1 + j}", {})
            index += 1
        if level < levels - 1:
            modules[f"down_blocks.{level}.downsamplers.0.conv"] = (f"input_blocks.{index}.0.op", {})
            index += 1
    modules |= {
        "mid_block.resnets.0": ("middle_block.0", RESNET), "mid_block.attentions.0": ("middle_block.1", {}),
        "mid_block.attentions.1": ("middle_block.2", {}), "mid_block.resnets.1": ("middle_block.3", RESNET),
    }  # fmt: skip
    index = 0
    for level in range(levels):
        attention = level < levels - 1
        for i in range(layers + 1):
            modules[f"up_blocks.{level}.resnets.{i}"] = (f"output_blocks.{index}.0", RESNET)
            for j in range(2 if attention else 0):
                modules[f"up_blocks.{level}.attentions.{2 * i + j}"] = (f"output_blocks.{index}.{1 + j}", {})
            if i == layers and level < levels - 1:
                modules[f"up_blocks.{level}.upsamplers.0.conv"] = (f"output_blocks.{index}.{3 if attention else 1}.conv", {})  # fmt: skip
            index += 1
    keys = [key for key in model.state_dict() if key.startswith("unet.")]
    return _expand(keys, modules, UNET_PREFIX, skip="unet.")


def vae_names(vae) -> dict[str, str]:
    """Names of a diffusers ``AutoencoderKL`` (LDM's KL autoencoder layout)."""
    levels = len(vae.config.block_out_channels)
    modules = {name: (name, {}) for name in ("quant_conv", "post_quant_conv")}
    for part in ("encoder", "decoder"):
        modules |= {
            f"{part}.conv_in": (f"{part}.conv_in", {}), f"{part}.conv_out": (f"{part}.conv_out", {}),
            f"{part}.conv_norm_out": (f"{part}.norm_out", {}),
            f"{part}.mid_block.resnets.0": (f"{part}.mid.block_1", VAE_RESNET),
            f"{part}.mid_block.resnets.1": (f"{part}.mid.block_2", VAE_RESNET),
            f"{part}.mid_block.attentions.0": (f"{part}.mid.attn_1", VAE_ATTENTION),
        }  # fmt: skip
    for level in range(levels):
        up = (
            levels - 1 - level
        )  # diffusers counts decoder levels from the lowest resolution, LDM from the highest
        for i in range(vae.config.layers_per_block + 1):
            modules[f"encoder.down_blocks.{level}.resnets.{i}"] = (
                f"encoder.down.{level}.block.{i}",
                VAE_RESNET,
            )
            modules[f"decoder.up_blocks.{up}.resnets.{i}"] = (f"decoder.up.{level}.block.{i}", VAE_RESNET)
        modules[f"encoder.down_blocks.{level}.downsamplers.0.conv"] = (
            f"encoder.down.{level}.downsample.conv",
            {},
        )
        modules[f"decoder.up_blocks.{up}.upsamplers.0.conv"] = (f"decoder.up.{level}.upsample.conv", {})
    return _expand(vae.state_dict().keys(), modules, VAE_PREFIX)


def vocoder_names(vocoder) -> dict[str, str]:
    """Names of a :class:`~flowsep.models.vocoder.BigVGANVocoder`: its weight-normed ``weight_g``/``weight_v``
    pairs both map to the checkpoint's plain ``weight`` (weight norm was removed before saving)."""
    names = {}
    for key in vocoder.state_dict():
        local = re.sub(r"\.weight_[gv]$", ".weight", key[len("generator.") :])
        names[key] = VOCODER_PREFIX + local
    return names


def text_encoder_names(text_encoder) -> dict[str, str]:
    """Names of a transformers ``T5EncoderModel`` (unchanged under the conditioner's prefix)."""
    return {key: TEXT_ENCODER_PREFIX + key for key in text_encoder.state_dict()}


def is_vae_attention_projection(official: str) -> bool:
    """LDM's autoencoder attention uses 1x1 convolutions where diffusers uses linear layers."""
    return bool(re.search(r"\.mid\.attn_1\.(q|k|v|proj_out)\.weight$", official))


def from_official(key: str, official: str, tensor: torch.Tensor) -> torch.Tensor:
    """A checkpoint tensor as the component stores it under ``key``: 1x1 convolutions of the autoencoder's
    attention become linear weights; a plain vocoder weight ``w`` becomes weight norm's direction ``v = w`` and
    magnitude ``g = ||w||`` (norms over all but the first dimension), so that ``g * v / ||v|| = w``."""
    if is_vae_attention_projection(official) and tensor.dim() == 4:
        return tensor[:, :, 0, 0]
    if key.endswith(".weight_g"):
        return torch.norm_except_dim(tensor, 2, 0)
    return tensor


def to_official(key: str, official: str, state: dict[str, torch.Tensor]) -> torch.Tensor | None:
    """The checkpoint tensor of component tensor ``key`` (``state`` is the component's state dict), the
    inverse of :func:`from_official`; ``None`` for a ``weight_g``, whose ``weight_v`` carries the weight."""
    tensor = state[key]
    if is_vae_attention_projection(official):
        return tensor[:, :, None, None]
    if key.endswith(".weight_g"):
        return None
    if key.endswith(".weight_v"):
        return torch._weight_norm(tensor, state[key[: -len("v")] + "g"], 0)
    return tensor
