"""Build the trainable component of a stage from its recipe, and load the frozen ones.

The architecture comes from the component's config, never from recipe keys: ``init_from`` (a
``save_pretrained`` folder, or for the vocoder an NVIDIA BigVGAN release) fine-tunes existing weights, and
``model`` then overrides entries of the loaded config that leave the weights' shapes alone (for example the
flow's ``source``); ``model_config`` (a ``config.json`` or a folder holding one) builds fresh weights from a
config; ``model`` (a dict) is passed to the constructor, on top of ``model_config`` when both are given.
"""

from __future__ import annotations

import json
from pathlib import Path

from diffusers import AutoencoderKL

from ..errors import RecipeError
from ..models import BigVGANVocoder
from .recipe import Recipe


def _config_dict(path: str) -> dict:
    file = Path(path)
    if file.is_dir():
        file = file / "config.json"
    if not file.is_file():
        raise RecipeError(f"model_config: no config.json at {path}")
    config = json.loads(file.read_text())
    return {key: value for key, value in config.items() if not key.startswith("_")}


def build_component(cls: type, recipe: Recipe):
    """The stage's model: loaded from ``init_from`` or built from ``model_config`` and/or ``model``."""
    if recipe.init_from:
        folder = Path(recipe.init_from)
        if cls is BigVGANVocoder and (folder / "bigvgan_generator.pt").is_file():
            return cls.from_bigvgan_release(folder)
        return cls.from_pretrained(recipe.init_from, **recipe.model)
    kwargs = _config_dict(recipe.model_config) if recipe.model_config else {}
    kwargs.update(recipe.model)
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise RecipeError(f"model: {cls.__name__} does not take these arguments: {error}") from None


def check_vae(vae: AutoencoderKL):
    """The pipeline's VAE is 1-channel in and out."""
    if vae.config.in_channels != 1 or vae.config.out_channels != 1:
        raise RecipeError("model: the VAE must have in_channels=1 and out_channels=1 (a log-mel image)")
