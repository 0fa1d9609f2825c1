"""On-the-fly training mixtures, as in FlowSep: a target clip plus interferers that share no sound class.

Item ``i`` of epoch ``e`` draws everything (target crop, caption, interferers, SNR, loudness) from one
generator seeded by ``(seed, e, i)``, ``seed`` being the clip dataset's, so it is the same mixture whatever
the DataLoader worker or the number of workers; :meth:`MixtureDataset.set_epoch` gives every epoch new
mixtures (validation datasets, built on a ``ClipDataset(train=False)``, keep the same mixtures every epoch).

Two clips are compatible when they are different recordings and, if both have class labels, share no label;
otherwise (caption-only datasets) their captions and labels share no keyword: lower-cased words without
stop words, crudely stemmed (``barking``, ``barks`` -> ``bark``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import numpy as np
import torch
from torch.utils.data import Dataset

from ..audio import loudness_lufs, rms, scale_to_snr
from ..errors import AudioInputError
from .datasets import ClipDataset
from .manifest import ClipRecord

STOP_WORDS = frozenset(
    """a an the and or but of to in on at by for from with without into onto over under while as is are was
    were be been being it its this that these those there their then than some someone something very
    loud loudly softly quietly distance distant background foreground sound sounds noise audio recording
    can could may might also another other others one two three several many few more most while during
    before after again continuously repeatedly occasionally constantly nearby far away up down out off
    who which what where when has have had do does did not no near around through""".split()  # noqa: SIM905
)


def _stem(word: str) -> str:
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    return word


def caption_keywords(texts: Iterable[str]) -> set[str]:
    """The content words of some captions or labels: ``["A dog barks loudly"] -> {"dog", "bark"}``."""
    words = re.findall(r"[a-z]+", " ".join(texts).lower())
    return {_stem(word) for word in words if len(word) > 2 and word not in STOP_WORDS}


def compatible(a: ClipRecord, b: ClipRecord) -> bool:
    """Whether ``a`` and ``b`` may be mixed (see the module's docstring)."""
    if a.id == b.id or a.audio == b.audio:
        return False
    if a.labels and b.labels:
        return not {label.lower() for label in a.labels} & {label.lower() for label in b.labels}
    return not caption_keywords([*a.captions, *a.labels]) & caption_keywords([*b.captions, *b.labels])


class MixtureDataset(Dataset):
    """Target + interference mixtures made on the fly from a :class:`ClipDataset`.

    Args:
        clips: the clips (their ``sample_rate``, ``segment_seconds`` and ``train`` apply).
        snr_range: the target-to-interference SNR in dB is drawn uniformly from this range.
        num_interferers: how many interferers, or an inclusive ``(low, high)`` range to draw from. Several
            interferers are brought to equal RMS before their sum is scaled to the drawn SNR.
        mixture_lufs: bring the mixture to this loudness (or one drawn uniformly from a ``(low, high)``
            range); the same gain is applied to the target and the interference.
        max_peak: if set, scale the target and the mixture down (by the same gain) so that neither peaks
            above it.
        max_draws: random candidates tried before scanning every clip for a compatible interferer.

    Items are dicts: ``mixture``, ``target``, ``interference`` of shape ``(T,)`` with
    ``mixture == target + interference`` exactly; ``caption`` (one of the target's captions), ``labels``,
    ``snr_db`` (float), ``id`` (the target's) and ``interferer_ids``.
    """

    def __init__(
        self,
        clips: ClipDataset,
        snr_range: tuple[float, float] = (-15.0, 15.0),
        num_interferers: int | tuple[int, int] = 1,
        mixture_lufs: float | tuple[float, float] | None = None,
        max_peak: float | None = None,
        max_draws: int = 100,
    ):
        if len(clips) < 2:
            raise AudioInputError("mixing needs at least two clips")
        self.clips = clips
        self.snr_range = snr_range
        self.num_interferers = (
            (num_interferers, num_interferers) if isinstance(num_interferers, int) else num_interferers
        )
        self.mixture_lufs = mixture_lufs
        self.max_peak, self.max_draws = max_peak, max_draws

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def epoch(self) -> int:
        return self.clips.epoch

    def set_epoch(self, epoch: int):
        """Select the epoch's mixtures; call before iterating the DataLoader (persistent workers included)."""
        self.clips.set_epoch(epoch)

    def _candidates(self, rng: np.random.Generator) -> Iterator[int]:
        yield from rng.integers(len(self), size=self.max_draws).tolist()
        yield from rng.permutation(len(self)).tolist()

    def _interferer(self, target: ClipRecord, rng: np.random.Generator) -> tuple[int, torch.Tensor]:
        for index in self._candidates(rng):
            if compatible(target, self.clips.records[index]):
                wave = self.clips.load(index, rng)
                if wave is not None:
                    return index, wave
        raise AudioInputError(f"no usable clip shares no label or caption keyword with {target.id!r}")

    def __getitem__(self, index: int) -> dict:
        rng = self.clips.rng(index)
        # 1. the target segment (another clip when this one is unusable) and its caption
        index, target = self.clips.segment(index, rng)  # (T,)
        record = self.clips.records[index]
        caption = record.captions[int(rng.integers(len(record.captions)))]
        # 2. interferers sharing no class with the target, at equal RMS, summed and scaled to the SNR
        count = int(rng.integers(self.num_interferers[0], self.num_interferers[1] + 1))
        picks = [self._interferer(record, rng) for _ in range(count)]
        interference = torch.stack([wave / rms(wave) for _, wave in picks]).sum(dim=0)  # (T,)
        snr = float(rng.uniform(*self.snr_range))
        interference = scale_to_snr(target, interference, snr)
        # 3. one gain for both parts: loudness, then peak limit
        gain = 1.0
        if self.mixture_lufs is not None:
            loudness = loudness_lufs(target + interference, self.clips.sample_rate)
            if np.isfinite(loudness):
                lufs = self.mixture_lufs
                lufs = float(rng.uniform(*lufs)) if isinstance(lufs, (tuple, list)) else float(lufs)
                gain = 10.0 ** ((lufs - loudness) / 20.0)
        peak = gain * max(float((target + interference).abs().max()), float(target.abs().max()))
        if self.max_peak is not None and peak > self.max_peak:
            gain *= self.max_peak / peak
        target, interference = target * gain, interference * gain
        return {
            "mixture": target + interference,
            "target": target,
            "interference": interference,
            "caption": caption,
            "labels": record.labels,
            "snr_db": snr,
            "id": record.id,
            "interferer_ids": [self.clips.records[i].id for i, _ in picks],
        }


def collate_batch(items: list[dict]) -> dict:
    """Batch dataset items: tensors are stacked (``(T,) -> (B, T)``), numbers become ``(B,)`` tensors, other
    values (captions, label lists, ids) become lists of length ``B``."""
    batch = {}
    for key in items[0]:
        values = [item[key] for item in items]
        if isinstance(values[0], torch.Tensor):
            batch[key] = torch.stack(values)
        elif isinstance(values[0], (int, float)) and not isinstance(values[0], bool):
            batch[key] = torch.tensor(values)
        else:
            batch[key] = values
    return batch
