"""Pre-computed flow-stage inputs on disk: the VAE and the text encoder run once per mixture, not per step.

Layout: ``CACHE/meta.json`` (what the cache was built from) and ``CACHE/epoch-E/INDEX.safetensors`` holding
``target_latents`` and ``mixture_latents`` ``(C, T, F)`` and ``text_states`` ``(L, E)`` (the caption's real
tokens only), stored as float16. ``cache_epochs`` epochs of distinct on-the-fly mixtures are stored; training
epoch ``e`` reads cached epoch ``e % cache_epochs``. Processes share the work (item ``i`` on process
``i % num_processes``); an interrupted build resumes where it stopped, and a cache built from other
settings is refused. At the paper's size an item takes about 180 kB.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from ..data import collate_batch
from ..errors import RecipeError

STORED_DTYPE = torch.float16


def _meta(stage, dataset, epochs: int) -> dict:
    recipe = stage.recipe
    return {
        "length": len(dataset), "epochs": epochs, "seed": recipe.seed, "vae": str(Path(recipe.flow.vae).resolve()),
        "scaling_factor": float(stage.codec.vae.config.scaling_factor), "text_encoder": recipe.flow.text_encoder,
        "data": {key: value for key, value in recipe.to_dict()["data"].items() if key != "num_workers"},
    }  # fmt: skip


def _item_path(folder: Path, epoch: int, index: int) -> Path:
    return folder / f"epoch-{epoch:03d}" / f"{index:08d}.safetensors"


@torch.no_grad()
def build_latent_cache(stage, dataset, folder: Path, epochs: int, batch_size: int):
    """Encode ``epochs`` epochs of ``dataset``'s mixtures with ``stage.encode`` into ``folder``."""
    accelerator = stage.accelerator
    meta = json.loads(json.dumps(_meta(stage, dataset, epochs)))  # as read back from JSON
    meta_file = folder / "meta.json"
    if accelerator.is_main_process and not meta_file.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        meta_file.write_text(json.dumps(meta, indent=2))
    accelerator.wait_for_everyone()
    if json.loads(meta_file.read_text()) != meta:
        raise RecipeError(
            f"flow.cache_dir: {folder} was built from other settings; delete it or pick another folder"
        )
    rank, world = accelerator.process_index, accelerator.num_processes
    todo = [
        (epoch, index) for epoch in range(epochs) for index in range(rank, len(dataset), world)
        if not _item_path(folder, epoch, index).is_file()
    ]  # fmt: skip
    progress = tqdm(
        total=len(todo), desc="latent cache", disable=not accelerator.is_local_main_process or not todo
    )
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        items = []
        for epoch, index in chunk:
            dataset.set_epoch(epoch)
            items.append(dataset[index])
        inputs = stage.encode(collate_batch(items))
        lengths = inputs["text_mask"].sum(dim=1).tolist()
        for row, (epoch, index) in enumerate(chunk):
            tensors = {
                "target_latents": inputs["target_latents"][row], "mixture_latents": inputs["mixture_latents"][row],
                "text_states": inputs["text_states"][row, : int(lengths[row])],
            }  # fmt: skip
            path = _item_path(folder, epoch, index)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".part{rank}")
            save_file({k: v.to(STORED_DTYPE).cpu().contiguous() for k, v in tensors.items()}, str(tmp))
            os.replace(tmp, path)
        progress.update(len(chunk))
    progress.close()
    dataset.set_epoch(0)
    accelerator.wait_for_everyone()


class LatentCacheDataset(Dataset):
    """The items of a cache built by :func:`build_latent_cache`, for the epoch chosen with ``set_epoch``."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        meta = json.loads((self.folder / "meta.json").read_text())
        self.length, self.epochs = meta["length"], meta["epochs"]
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()  # seen by persistent workers

    def set_epoch(self, epoch: int):
        self._epoch.fill_(int(epoch) % self.epochs)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        tensors = load_file(str(_item_path(self.folder, int(self._epoch), index)))
        return {key: value.float() for key, value in tensors.items()}


def collate_cached(items: list[dict]) -> dict:
    """Stack latents; pad text states to the longest ``(B, L, E)`` with their mask ``(B, L)``."""
    longest = max(item["text_states"].shape[0] for item in items)
    states = torch.zeros(len(items), longest, items[0]["text_states"].shape[-1])
    mask = torch.zeros(len(items), longest, dtype=torch.long)
    for row, item in enumerate(items):
        length = item["text_states"].shape[0]
        states[row, :length], mask[row, :length] = item["text_states"], 1
    return {
        "target_latents": torch.stack([item["target_latents"] for item in items]),
        "mixture_latents": torch.stack([item["mixture_latents"] for item in items]),
        "text_states": states, "text_mask": mask,
    }  # fmt: skip
