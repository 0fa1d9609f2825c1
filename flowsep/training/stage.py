"""The interface between a training stage and the :class:`~flowsep.training.trainer.Trainer`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import Dataset

from ..data import collate_batch
from ..data.device_mixing import DeviceMixtures
from .data import build_mixtures
from .recipe import Recipe

Optimize = Callable[[str, torch.Tensor], None]


class StageTask:
    """One training stage. Subclasses implement the hooks below; the trainer does the rest.

    Attributes:
        ema_model: name (a key of :meth:`build_models`) of the model whose EMA weights are kept and saved.
        collate: batches the items of :meth:`train_dataset`.
    """

    ema_model: str | None = None
    collate = staticmethod(collate_batch)

    def __init__(self, recipe: Recipe):
        self.recipe = recipe
        self.mel = recipe.data.mel

    def build_models(self) -> dict[str, torch.nn.Module]:
        """The trainable models by name; each gets its own AdamW optimiser and LR schedule."""
        raise NotImplementedError

    def setup(self, accelerator, weight_dtype: torch.dtype):
        """Load frozen models onto ``accelerator.device`` (called once, after :meth:`build_models`)."""
        self.device = accelerator.device

    def train_dataset(self) -> Dataset:
        """Map-style dataset with ``set_epoch``; items are batched by :attr:`collate` (the mixtures' own when
        they are made on the device)."""
        mixtures = build_mixtures(self.recipe.data, train=True, seed=self.recipe.seed, device=self.device)
        if isinstance(mixtures, DeviceMixtures):
            self.collate = mixtures.collate
        return mixtures

    def valid_dataset(self) -> Dataset | None:
        return build_mixtures(self.recipe.data, train=False, seed=self.recipe.seed)

    def training_step(
        self, batch: dict, models: dict, optimize: Optimize, generator: torch.Generator
    ) -> dict:
        """Compute the losses of one micro-batch and call ``optimize(name, loss)`` for each model to update.

        Returns scalar tensors to log; ``"loss"`` is shown on the progress bar.
        """
        raise NotImplementedError

    def validation_step(self, batch: dict, models: dict, generator: torch.Generator) -> dict:
        """Validation losses of one batch (no gradients, unwrapped models in eval mode)."""
        raise NotImplementedError

    def write_examples(self, items: list[dict], models: dict, folder: Path, device) -> dict:
        """Write example outputs (audio, spectrogram PNGs) of a few validation items into ``folder``.

        Returns matplotlib figures by name, for TensorBoard.
        """
        return {}

    def save(self, models: dict, output_dir: Path):
        """Write the stage's ``save_pretrained`` folders into ``output_dir`` (main process only)."""
        raise NotImplementedError
