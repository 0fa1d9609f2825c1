"""Training mixtures made on the training device: every clip is held in one tensor in its memory, and crops,
interferer draws, band-limits and gains are batched tensor operations there, so that a GPU, not the loader
workers, bounds the training speed (``data.mix_on_device`` in a recipe).

:class:`DeviceMixtures` is a map-style dataset of clip indices whose :meth:`~DeviceMixtures.collate` makes the
batch: the sampler's indices are the targets (class balancing and exact resumption come from the sampler, as for
:class:`~flowsep.data.MixtureDataset`), and everything else is drawn from a generator seeded by the seed, the
epoch and the batch's indices. The rules are :class:`~flowsep.data.MixtureDataset`'s: one interferer sharing no
label with the target and not from its recording, the SNR drawn uniformly from ``snr_range``, each source
low-passed with ``bandlimit_prob``; targets whose crop is silent are cropped again (up to three times).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import torch
from tqdm.auto import tqdm

from ..audio import load_audio, scale_to_snr
from .augment import band_limit
from .datasets import SILENCE_PEAK, class_balance_weights
from .manifest import ClipRecord

RECROPS = 3  # new crops for a target whose crop is silent


def compatibility(records: Sequence[ClipRecord]) -> torch.Tensor:
    """``(N, N)`` bool: which clips may interfere with which (labelled clips: no shared label, different
    recording; as :func:`flowsep.data.compatible` decides for labelled records)."""
    if not all(record.labels for record in records):
        raise ValueError("mixing on the device needs class labels on every clip")
    names = sorted({label.lower() for record in records for label in record.labels})
    index = {name: k for k, name in enumerate(names)}
    onehot = torch.zeros(len(records), len(names))
    for row, record in enumerate(records):
        for label in record.labels:
            onehot[row, index[label.lower()]] = 1.0
    groups = [record.extra.get("recording") or record.audio for record in records]
    group_index = {group: k for k, group in enumerate(dict.fromkeys(groups))}
    group_ids = torch.tensor([group_index[group] for group in groups])
    return ((onehot @ onehot.T) == 0) & (group_ids[:, None] != group_ids[None, :])


class DeviceMixtures(torch.utils.data.Dataset):
    """Clip indices whose :meth:`collate` makes target + interferer mixtures on ``device``.

    Args:
        records: the labelled clips (decoded once, resampled to ``sample_rate``).
        sample_rate, segment_seconds: the training segment.
        snr_range, bandlimit_prob, bandlimit_hz, class_balance: as for :class:`~flowsep.data.MixtureDataset`.
        device: where the clips live and the batches are made.
        seed: base seed of the draws.
    """

    def __init__(
        self,
        records: Sequence[ClipRecord],
        sample_rate: int = 16000,
        segment_seconds: float = 10.24,
        snr_range: tuple[float, float] = (-15.0, 15.0),
        bandlimit_prob: float = 0.0,
        bandlimit_hz: tuple[float, float] = (3000.0, 7500.0),
        class_balance: float = 0.0,
        device: str | torch.device = "cpu",
        seed: int = 0,
    ):
        self.records, self.sample_rate, self.device, self.seed = (
            list(records),
            sample_rate,
            torch.device(device),
            seed,
        )
        self.segment = round(segment_seconds * sample_rate)
        self.snr_range, self.bandlimit_prob, self.bandlimit_hz = (
            snr_range,
            bandlimit_prob,
            tuple(bandlimit_hz),
        )
        waves = [
            load_audio(record.audio, target_sample_rate=sample_rate)
            for record in tqdm(self.records, desc="clips to the device", unit="clip")
        ]
        self.lengths = torch.tensor([len(wave) for wave in waves], device=self.device)
        self.offsets = torch.cumsum(
            torch.cat([torch.zeros(1, device=self.device), self.lengths[:-1]]), 0
        ).long()
        self.audio = torch.cat([*waves, torch.zeros(self.segment)]).to(self.device)  # (total,), zero tail
        self.allowed = compatibility(self.records).to(self.device)
        self.sample_weights = class_balance_weights(
            self.records, class_balance
        )  # the trainer's sampler reads it
        draws = (
            torch.ones(len(self.records))
            if self.sample_weights is None
            else torch.as_tensor(self.sample_weights)
        )
        self.interferer_weights = draws.float().to(self.device)
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> int:
        return index

    def set_epoch(self, epoch: int):
        self.epoch = int(epoch)

    def generator(self, indices: Sequence[int]) -> torch.Generator:
        """The batch's generator, fixed by the seed, the epoch and its indices (so a resumed run redraws it)."""
        key = zlib.crc32(f"{self.seed}/{self.epoch}/{list(indices)}".encode())
        return torch.Generator(device=self.device).manual_seed(key)

    def crops(self, clips: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """``(B,)`` clip indices -> ``(B, segment)`` random crops; clips shorter than a segment are zero-padded."""
        room = (self.lengths[clips] - self.segment).clamp(min=0)
        starts = (torch.rand(len(clips), device=self.device, generator=generator) * (room + 1)).long()
        positions = (
            self.offsets[clips, None] + starts[:, None] + torch.arange(self.segment, device=self.device)
        )
        inside = starts[:, None] + torch.arange(self.segment, device=self.device) < self.lengths[clips, None]
        return self.audio[positions] * inside

    def _band_limit(self, waves: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Each row low-passed with ``bandlimit_prob`` at a cutoff drawn from ``bandlimit_hz``."""
        if self.bandlimit_prob <= 0:
            return waves
        chosen = torch.rand(len(waves), device=self.device, generator=generator) < self.bandlimit_prob
        low, high = self.bandlimit_hz
        cutoffs = low + (high - low) * torch.rand(len(waves), 1, device=self.device, generator=generator)
        return torch.where(chosen[:, None], band_limit(waves, cutoffs, self.sample_rate), waves)

    def collate(self, indices: list[int]) -> dict:
        """The batch of mixtures whose targets are the clips ``indices``: ``mixture``, ``target``,
        ``interference`` ``(B, T)``, ``snr_db`` ``(B,)``, ``caption``, ``labels`` and ``id`` lists."""
        generator = self.generator(indices)
        targets = torch.tensor(indices, device=self.device)
        pool = self.interferer_weights[None] * self.allowed[targets]  # (B, N)
        interferers = torch.multinomial(pool, 1, generator=generator)[:, 0]
        target = self.crops(targets, generator)
        for _ in range(RECROPS):
            silent = target.abs().amax(-1) <= SILENCE_PEAK
            if not silent.any():
                break
            target = torch.where(silent[:, None], self.crops(targets, generator), target)
        interference = self.crops(interferers, generator)
        target, interference = self._band_limit(target, generator), self._band_limit(interference, generator)
        low, high = self.snr_range
        snr = low + (high - low) * torch.rand(len(indices), device=self.device, generator=generator)
        interference = scale_to_snr(target, interference, snr)
        picks = torch.randint(1 << 30, (len(indices),), device=self.device, generator=generator).tolist()
        records = [self.records[index] for index in indices]
        return {
            "mixture": target + interference,
            "target": target,
            "interference": interference,
            "snr_db": snr,
            "caption": [record.captions[pick % len(record.captions)] for record, pick in zip(records, picks)],
            "labels": [record.labels for record in records],
            "id": [record.id for record in records],
        }
