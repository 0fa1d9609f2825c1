"""Random checkpoints laid out exactly like the official FlowSep one, for tests and measurements.

``write_synthetic_checkpoint`` builds random flowsep components, writes their tensors under the official names
(:mod:`flowsep.conversion.official_names`) in a Lightning-style file (``state_dict`` plus extras), and a text
encoder folder (T5 config + tokenizer) for ``--text-encoder``. ``TINY`` is a reduced width with the official
nesting; ``FULL`` is the official size (UNet 265.5 M, VAE 55.4 M, vocoder 14.0 M, Flan-T5-large encoder).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from diffusers import AutoencoderKL
from transformers import T5Config, T5EncoderModel

from ..models.unet_flowsep import FlowSepUNet
from ..models.vocoder import BigVGANVocoder
from .official import OfficialArchitecture
from .official_names import (
    SCALE_FACTOR_KEY,
    text_encoder_names,
    to_official,
    unet_names,
    vae_names,
    vocoder_names,
)

VAE_BLOCKS = dict(in_channels=1, out_channels=1, latent_channels=8, down_block_types=("DownEncoderBlock2D",) * 3,
                  up_block_types=("UpDecoderBlock2D",) * 3)  # fmt: skip
FULL = {
    "unet": dict(block_out_channels=(128, 256, 384, 640)),
    "vae": dict(VAE_BLOCKS, block_out_channels=(128, 256, 512), layers_per_block=2, norm_num_groups=32),
    "vocoder": dict(upsample_initial_channel=512, upsample_kernel_sizes=(16, 16, 8, 4, 4)),
    "t5": dict(vocab_size=32128, d_model=1024, d_kv=64, d_ff=2816, num_layers=24, num_heads=16,
               feed_forward_proj="gated-gelu", tie_word_embeddings=False),
    "architecture": OfficialArchitecture(),
}  # fmt: skip
# Same names and nesting (4 UNet levels with attention in the lower three, 3 VAE levels, 5 upsamplings with
# 3 resblocks of 3 dilations), 8 channels per head and 8 norm groups, 8 latent frames per window.
TINY = {
    "unet": dict(block_out_channels=(16, 32, 48, 80), attention_head_dim=8, norm_num_groups=8, text_embed_dim=32,
                 sample_size=8),
    "vae": dict(VAE_BLOCKS, block_out_channels=(16, 16, 32), layers_per_block=2, norm_num_groups=8),
    "vocoder": dict(upsample_initial_channel=32, upsample_kernel_sizes=(16, 16, 8, 4, 4)),
    "t5": dict(d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, feed_forward_proj="gated-gelu"),
    "architecture": OfficialArchitecture(attention_head_dim=8, unet_norm_groups=8, vae_norm_groups=8, sample_size=8),
}  # fmt: skip
DDPM_BUFFERS = ("betas", "alphas_cumprod", "alphas_cumprod_prev", "posterior_variance", "logvar")


class LightningExtra:
    """A stand-in for the non-tensor objects a Lightning checkpoint carries (e.g. hyper-parameter containers)."""

    def __init__(self, **values):
        self.values = values


def official_tensors(model, names: dict[str, str]) -> dict[str, torch.Tensor]:
    """A component's tensors under their official names."""
    state = model.state_dict()
    tensors = {official: to_official(key, official, state) for key, official in names.items()}
    return {official: tensor.clone() for official, tensor in tensors.items() if tensor is not None}


def write_synthetic_checkpoint(
    folder: str | os.PathLike, size: dict = TINY, seed: int = 0, extras: bool = True
) -> tuple[Path, Path]:
    """Write ``folder/v2_synthetic.ckpt`` and the text encoder folder ``folder/flan-t5``; return both paths."""
    from ..testing import tiny_tokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    t5_config = T5Config(**{"vocab_size": len(tokenizer), **size["t5"]})
    text_dir = folder / "flan-t5"
    t5_config.save_pretrained(text_dir)
    tokenizer.save_pretrained(text_dir)
    state = {}
    for build, names in (
        (lambda: T5EncoderModel(t5_config), text_encoder_names),
        (lambda: FlowSepUNet(**size["unet"]), unet_names),
        (lambda: AutoencoderKL(**size["vae"]), vae_names),
        (lambda: BigVGANVocoder(**size["vocoder"]), vocoder_names),
    ):
        model = build()
        state |= official_tensors(model, names(model))
        del model
    state[SCALE_FACTOR_KEY] = torch.tensor(0.8)
    for name in DDPM_BUFFERS:
        state[name] = torch.rand(1000)
    checkpoint = {"state_dict": state}
    if extras:
        checkpoint |= {"epoch": 3, "global_step": 100000, "hyper_parameters": LightningExtra(lr=5e-5)}
    path = folder / "v2_synthetic.ckpt"
    torch.save(checkpoint, path)
    return path, text_dir
