"""Tiny random components for tests and examples: nothing is downloaded.

``make_tiny_pipeline()`` builds a complete :class:`FlowSepPipeline` (tiny T5 encoder with a tokenizer trained
on the fly, tiny VAE, transformer and BigVGAN) that runs in well under a second on a CPU.
"""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, T5Config, T5EncoderModel

from .models import BigVGANVocoder, FlowSepTransformer
from .pipelines import FlowSepPipeline

TINY_CORPUS = [
    "a dog barking", "a man speaking", "a woman speaking", "rain falling on a roof", "a car engine running",
    "birds chirping in the morning", "a piano playing a melody", "people applauding", "a telephone ringing",
    "water flowing in a stream", "thunder rumbling", "footsteps on a wooden floor", "wind blowing",
]  # fmt: skip


def tiny_tokenizer(vocab_size: int = 128) -> PreTrainedTokenizerFast:
    """A WordPiece tokenizer trained in memory on a few captions, with pad/unk/eos tokens."""
    tokenizer = Tokenizer(models.WordPiece(unk_token="<unk>"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "<unk>", "</s>"])
    tokenizer.train_from_iterator(TINY_CORPUS, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="<pad>",
        unk_token="<unk>",
        eos_token="</s>",
        model_max_length=32,
    )


def tiny_components(seed: int = 0, sample_size: int = 8, with_vocoder: bool = True) -> dict:
    """Seeded tiny components (hidden 32, 2 layers). One window is ``sample_size * 4 * 160`` samples."""
    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    text_encoder = T5EncoderModel(
        T5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4)
    ).eval()
    vae = AutoencoderKL(
        in_channels=1, out_channels=1, latent_channels=8, block_out_channels=(16, 16, 32),
        down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
        layers_per_block=1, norm_num_groups=8, sample_size=64,
    )  # fmt: skip
    transformer = FlowSepTransformer(
        sample_size=sample_size, num_layers=2, num_attention_heads=2, attention_head_dim=16, text_embed_dim=32
    )
    for parameter in transformer.parameters():  # leave the zero init: outputs must depend on the inputs
        torch.nn.init.normal_(parameter, std=0.05)
    vocoder = None
    if with_vocoder:
        vocoder = BigVGANVocoder(
            upsample_initial_channel=32, resblock_kernel_sizes=(3,), resblock_dilation_sizes=((1,),)
        )
    return {
        "vae": vae, "transformer": transformer, "scheduler": FlowMatchEulerDiscreteScheduler(),
        "text_encoder": text_encoder, "tokenizer": tokenizer, "vocoder": vocoder,
    }  # fmt: skip


def make_tiny_pipeline(seed: int = 0, **kwargs) -> FlowSepPipeline:
    """A complete random FlowSepPipeline for tests."""
    pipe = FlowSepPipeline(**tiny_components(seed, **kwargs))
    pipe.set_progress_bar_config(disable=True)
    return pipe
