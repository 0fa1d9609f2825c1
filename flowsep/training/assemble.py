"""``assemble`` stage: a complete :class:`~flowsep.FlowSepPipeline` folder from the stages' outputs.

The result loads with ``FlowSepPipeline.from_pretrained(OUTPUT_DIR)`` and separates; its ``queries.json`` lists the
classes and captions of the training manifests (``flowsep queries --model OUTPUT_DIR``). Its codec (the mel front
end and the mixture level ``reference_rms``) is the recipe's, built from the ``data`` section as the training
stages build it, so that it is the one the VAE, the transformer and the vocoder were trained with.
"""

from __future__ import annotations

import json
from pathlib import Path

from diffusers import AutoencoderKL
from diffusers.schedulers.scheduling_utils import SchedulerMixin

from ..codec import AudioCodec
from ..errors import CheckpointError
from ..models import BigVGANVocoder, FlowSepTransformer, LogMelLatent, load_text_encoder
from ..pipelines import FlowSepPipeline
from ..queries import write_training_queries
from ..schedulers import make_scheduler
from .data import make_codec
from .recipe import Recipe


def build_pipeline(
    transformer: FlowSepTransformer,
    text_encoder,
    tokenizer,
    vocoder: BigVGANVocoder | None,
    codec: AudioCodec,
    scheduler: SchedulerMixin | None = None,
    text_encoder_name: str | None = None,
    source_noise: float | None = None,
) -> FlowSepPipeline:
    """A pipeline from in-memory components and a codec (its VAE, mel front end and ``reference_rms``), sampled
    by ``scheduler`` (default: flow matching's Euler).

    ``text_encoder_name`` is recorded so that a pipeline saved without its text encoder can load it by name;
    ``source_noise`` is the pipeline's default start noise (see :class:`~flowsep.FlowSepPipeline`).
    """
    pipe = FlowSepPipeline(
        vae=codec.vae, transformer=transformer, scheduler=scheduler or make_scheduler("euler"), text_encoder=text_encoder,
        tokenizer=tokenizer, vocoder=vocoder, text_encoder_name=text_encoder_name, source_noise=source_noise,
        **codec.config,
    )  # fmt: skip
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _folder(path: str, role: str, subfolder: str) -> Path:
    """A component folder: ``path`` itself or the stage output's ``path/subfolder``."""
    root = Path(path)
    for candidate in (root, root / subfolder):
        if (candidate / "config.json").is_file():
            return candidate
    raise CheckpointError(f"assemble.{role}: no config.json in {root} or {root / subfolder}")


def _trained_scheduler_config(path: str) -> dict:
    """The scheduler config the flow stage wrote beside its transformer (``path/scheduler``), if any: it names
    the objective the network was trained with. Without one (older runs, bare folders) it is flow matching."""
    folder = Path(path) / "scheduler"
    if not (folder / "scheduler_config.json").is_file():
        return {}
    return json.loads((folder / "scheduler_config.json").read_text())


def assemble(recipe: Recipe) -> Path:
    """Load the stages' folders and write the pipeline to ``recipe.output_dir``. Returns that folder."""
    config = recipe.assemble
    if config.codec == "mel":
        vae = LogMelLatent(recipe.data.mel.n_mels)
    else:
        vae = AutoencoderKL.from_pretrained(_folder(config.vae, "vae", "vae"))
    transformer = FlowSepTransformer.from_pretrained(
        _folder(config.transformer, "transformer", "transformer")
    )
    vocoder = None
    if config.vocoder:
        source = Path(config.vocoder)
        if (source / "bigvgan_generator.pt").is_file():
            vocoder = BigVGANVocoder.from_bigvgan_release(source)
        else:
            vocoder = BigVGANVocoder.from_pretrained(_folder(config.vocoder, "vocoder", "vocoder"))
    text_encoder, tokenizer = load_text_encoder(config.text_encoder)
    if text_encoder.config.hidden_size != transformer.config.text_embed_dim:
        raise CheckpointError(
            f"assemble.text_encoder: {config.text_encoder} has width {text_encoder.config.hidden_size}, "
            f"the transformer expects {transformer.config.text_embed_dim}"
        )
    if not config.bundle_text_encoder:
        text_encoder, tokenizer = None, None
    codec = make_codec(recipe.data, vae)
    pipe = build_pipeline(
        transformer,
        text_encoder,
        tokenizer,
        vocoder,
        codec,
        make_scheduler(config.scheduler, None, _trained_scheduler_config(config.transformer)),
        config.text_encoder,
        config.source_noise,
    )
    output_dir = Path(recipe.output_dir)
    pipe.save_pretrained(output_dir)
    write_training_queries(
        output_dir, recipe.data.train, f"classes and captions of {', '.join(recipe.data.train)}"
    )
    return output_dir
