"""Adapters between the recipe, :mod:`flowsep.data` and the models: datasets, a resumable sampler, features.

Every stage trains on the same on-the-fly mixtures (:class:`flowsep.data.MixtureDataset`), levelled and
encoded by the recipe's :class:`~flowsep.codec.AudioCodec`, the object :class:`~flowsep.FlowSepPipeline` encodes
its input with: the mixture is brought to ``reference_rms`` and the target gets the same gain.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Sampler

from ..codec import AudioCodec
from ..data import ClipDataset, MixtureDataset, collate_batch, read_manifest
from ..data.device_mixing import DeviceMixtures
from ..errors import RecipeError
from .recipe import DataConfig


class EpochSampler(Sampler[int]):
    """A permutation of ``range(length)`` fixed by ``(seed, epoch)``: the data order of any step can be
    rebuilt after a restart, so a resumed run reads the same batches as an uninterrupted one. With ``weights``
    (``(length,)`` probabilities) an epoch is ``length`` draws with replacement, fixed the same way."""

    def __init__(self, length: int, seed: int = 0, shuffle: bool = True, weights=None):
        self.length, self.seed, self.shuffle = length, seed, shuffle
        self.weights = None if weights is None else torch.as_tensor(weights, dtype=torch.float64)
        self.epoch = 0

    def set_epoch(self, epoch: int):
        self.epoch = int(epoch)

    def __iter__(self):
        if not self.shuffle:
            return iter(range(self.length))
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        if self.weights is not None:
            return iter(torch.multinomial(self.weights, self.length, True, generator=generator).tolist())
        return iter(torch.randperm(self.length, generator=generator).tolist())

    def __len__(self) -> int:
        return self.length


def build_mixtures(
    data: DataConfig, train: bool, seed: int, device=None
) -> MixtureDataset | DeviceMixtures | None:
    """The training (``train=True``) or validation mixtures of a recipe; ``None`` without manifests. With
    ``data.mix_on_device`` the training mixtures are :class:`~flowsep.data.device_mixing.DeviceMixtures` on
    ``device`` (batched by their ``collate``)."""
    manifests = data.train if train else data.valid
    if not manifests:
        return None
    split = data.train_split if train else data.valid_split
    records = []
    for manifest in manifests:
        if str(manifest).endswith(".tar") or "{" in str(manifest):
            raise RecipeError(f"{manifest}: WebDataset shards are not supported; give JSONL/CSV manifests")
        records.extend(read_manifest(manifest, split=split))
    if train and data.mix_on_device:
        return DeviceMixtures(
            records, data.mel.sample_rate, data.segment_seconds, data.snr_range, data.bandlimit_prob,
            data.bandlimit_hz, data.class_balance, device or "cpu", seed,
        )  # fmt: skip
    clips = ClipDataset(
        records,
        sample_rate=data.mel.sample_rate,
        segment_seconds=data.segment_seconds,
        train=train,
        seed=seed,
        keep_in_memory=data.keep_in_memory,
    )
    return MixtureDataset(
        clips, snr_range=data.snr_range, num_interferers=data.num_interferers, mixture_lufs=data.mixture_lufs,
        bandlimit_prob=data.bandlimit_prob if train else 0.0, bandlimit_hz=data.bandlimit_hz,
        class_balance=data.class_balance if train else 0.0,
    )  # fmt: skip


def make_loader(
    dataset,
    batch_size: int,
    sampler: Sampler,
    num_workers: int,
    drop_last: bool = True,
    collate_fn=collate_batch,
) -> DataLoader:
    """A DataLoader over dataset items, batched with :func:`flowsep.data.collate_batch` by default."""
    return DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers, collate_fn=collate_fn,
        drop_last=drop_last, persistent_workers=num_workers > 0,
    )  # fmt: skip


def make_codec(data: DataConfig, vae=None) -> AudioCodec:
    """The recipe's codec: its mel front end and ``reference_rms``, with ``vae`` when latents are needed."""
    return AudioCodec(vae, data.mel, data.reference_rms)
