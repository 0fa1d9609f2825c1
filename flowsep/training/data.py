"""Adapters between the recipe, :mod:`flowsep.data` and the models: datasets, a resumable sampler, features.

Every stage trains on the same on-the-fly mixtures (:class:`flowsep.data.MixtureDataset`), levelled exactly
as :class:`~flowsep.FlowSepPipeline` levels its input: :func:`flowsep.audio.normalize_mixture` brings the
mixture to ``reference_rms`` and the target gets the same gain.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Sampler

from ..audio import normalize_mixture
from ..data import ClipDataset, MixtureDataset, collate_batch, read_manifest
from ..errors import RecipeError
from ..spectrogram import MelConfig, log_mel_spectrogram
from .recipe import DataConfig


class EpochSampler(Sampler[int]):
    """A permutation of ``range(length)`` fixed by ``(seed, epoch)``: the data order of any step can be
    rebuilt after a restart, so a resumed run reads the same batches as an uninterrupted one."""

    def __init__(self, length: int, seed: int = 0, shuffle: bool = True):
        self.length, self.seed, self.shuffle = length, seed, shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int):
        self.epoch = int(epoch)

    def __iter__(self):
        if not self.shuffle:
            return iter(range(self.length))
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return iter(torch.randperm(self.length, generator=generator).tolist())

    def __len__(self) -> int:
        return self.length


def build_mixtures(data: DataConfig, train: bool, seed: int) -> MixtureDataset | None:
    """The training (``train=True``) or validation mixtures of a recipe; ``None`` without manifests."""
    manifests = data.train if train else data.valid
    if not manifests:
        return None
    split = data.train_split if train else data.valid_split
    records = []
    for manifest in manifests:
        if str(manifest).endswith(".tar") or "{" in str(manifest):
            raise RecipeError(f"{manifest}: WebDataset shards cannot be mixed yet; give JSONL/CSV manifests")
        records.extend(read_manifest(manifest, split=split))
    clips = ClipDataset(
        records,
        sample_rate=data.mel.sample_rate,
        segment_seconds=data.segment_seconds,
        train=train,
        seed=seed,
    )
    return MixtureDataset(
        clips, snr_range=data.snr_range, num_interferers=data.num_interferers, mixture_lufs=data.mixture_lufs
    )


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


def level(
    mixture: torch.Tensor, target: torch.Tensor, reference_rms: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Level ``(B, T)`` mixtures as the pipeline does and apply the same gain to the targets."""
    mixture, gain = normalize_mixture(mixture, reference_rms)
    return mixture, target * gain


def mel_image(wave: torch.Tensor, mel: MelConfig) -> torch.Tensor:
    """Waveforms ``(B, T)`` -> the VAE's log-mel image ``(B, 1, frames, n_mels)``."""
    return log_mel_spectrogram(wave, mel).transpose(1, 2).unsqueeze(1)


def image_to_mel(image: torch.Tensor) -> torch.Tensor:
    """The VAE's image ``(B, 1, frames, n_mels)`` -> log-mel ``(B, n_mels, frames)``."""
    return image.squeeze(1).transpose(1, 2)


@torch.no_grad()
def encode_latents(vae, wave: torch.Tensor, mel: MelConfig) -> torch.Tensor:
    """Waveforms ``(B, T)`` -> scaled latents ``(B, C, frames / 4, n_mels / 4)``, the posterior's mode
    times ``scaling_factor``, exactly as the pipeline encodes mixtures."""
    image = mel_image(wave.to(vae.device), mel).to(vae.dtype)
    return vae.encode(image).latent_dist.mode() * vae.config.scaling_factor
