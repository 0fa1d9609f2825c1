"""Training datasets: fixed-length clip segments (:class:`ClipDataset`) and the mixtures made of them on the
fly (:class:`MixtureDataset`), as in FlowSep: a target clip plus interferers that share no sound class.

A :class:`ClipDataset` yields ``{"audio": (T,) float32, "id": str, "captions": list[str], "labels": list[str]}``
with ``T = round(segment_seconds * sample_rate)``. Training segments are cropped at random from a seeded
generator (shorter clips are zero-padded at the end); validation segments start at the clip's beginning.
Unreadable files and silent segments are skipped with a warning (once per file) and counted in
``dataset.skipped``; the counts are per process, so with DataLoader workers each worker keeps its own.

Item ``i`` of epoch ``e`` of a :class:`MixtureDataset` draws everything (target crop, caption, interferers,
SNR, loudness) from one generator seeded by ``(seed, e, i)``, ``seed`` being the clip dataset's, so it is the
same mixture whatever the DataLoader worker or the number of workers; ``set_epoch`` gives every epoch new
mixtures (validation datasets, built on a ``ClipDataset(train=False)``, keep the same mixtures every epoch).
Which clips may be mixed is :func:`flowsep.data.pairing.compatible`.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..audio import load_audio, loudness_gain, rms, scale_to_snr
from ..errors import AudioInputError
from .augment import random_band_limit
from .manifest import ClipRecord, read_manifest
from .pairing import compatible

SILENCE_PEAK = 1e-4  # a segment whose peak is not above this is silent


class SilentSegmentError(AudioInputError):
    """A clip whose segment is silent (its peak is not above the silence threshold)."""


def crop_or_pad(wave: torch.Tensor, length: int, rng: np.random.Generator | None = None) -> torch.Tensor:
    """``(T,) -> (length,)``: a window drawn with ``rng`` (the start if ``rng`` is None), or zero padding."""
    if wave.shape[-1] < length:
        return torch.nn.functional.pad(wave, (0, length - wave.shape[-1]))
    start = int(rng.integers(wave.shape[-1] - length + 1)) if rng is not None else 0
    return wave[start : start + length]


def load_segment(
    path: str | os.PathLike,
    sample_rate: int,
    segment_samples: int | None,
    rng: np.random.Generator | None = None,
    silence_peak: float = SILENCE_PEAK,
) -> torch.Tensor:
    """The mono segment ``(T,)`` of an audio file at ``sample_rate``, cut by :func:`crop_or_pad` (whole when
    ``segment_samples`` is None).

    Raises:
        AudioInputError: the file is missing or unreadable.
        SilentSegmentError: the segment's peak is not above ``silence_peak``.
    """
    return cut_segment(
        load_audio(path, target_sample_rate=sample_rate), path, segment_samples, rng, silence_peak
    )


def cut_segment(
    wave: torch.Tensor,
    path: str | os.PathLike,
    segment_samples: int | None,
    rng: np.random.Generator | None = None,
    silence_peak: float = SILENCE_PEAK,
) -> torch.Tensor:
    """The segment of a decoded clip ``wave (T,)`` read from ``path``, as :func:`load_segment` cuts it."""
    if segment_samples is not None:
        wave = crop_or_pad(wave, segment_samples, rng)
    if float(wave.abs().max()) <= silence_peak:
        raise SilentSegmentError(f"{os.fspath(path)}: the segment is silent (peak <= {silence_peak})")
    return wave


class ClipDataset(Dataset):
    """Fixed-length segments of the clips of a manifest.

    Args:
        records: the clips, or a manifest path.
        sample_rate: the rate clips are resampled to.
        segment_seconds: segment length; 10.24 s gives 163,840 samples at 16 kHz.
        train: random crops (seeded by ``seed``, epoch and index) when True, crops from the start otherwise.
        seed: base seed; item ``i`` of epoch ``e`` is the same for the same seed, whatever the worker.
        split: with a manifest path, keep only this split.
        silence_threshold: a segment whose peak is not above this is silent and skipped.
        max_retries: unusable clips in a row before giving up.
        keep_in_memory: keep every decoded clip (at ``sample_rate``) in memory after its first read, so that
            later epochs crop without reading files (about 230 MB per hour of audio, per loader worker).
    """

    def __init__(
        self,
        records: Sequence[ClipRecord] | str | os.PathLike,
        sample_rate: int = 16000,
        segment_seconds: float = 10.24,
        train: bool = True,
        seed: int = 0,
        split: str | None = None,
        silence_threshold: float = SILENCE_PEAK,
        max_retries: int = 20,
        keep_in_memory: bool = False,
    ):
        if isinstance(records, (str, os.PathLike)):
            records = read_manifest(records, split=split)
        if not records:
            raise AudioInputError("the dataset has no clips")
        self.records = list(records)
        self.sample_rate = sample_rate
        self.segment_samples = round(segment_seconds * sample_rate)
        self.train, self.seed = train, seed
        self.silence_threshold, self.max_retries = silence_threshold, max_retries
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()  # seen by persistent workers too
        self.skipped: Counter[str] = Counter()
        self.decoded: dict[str, torch.Tensor] | None = {} if keep_in_memory else None
        self._warned: set[str] = set()

    def __len__(self) -> int:
        return len(self.records)

    @property
    def epoch(self) -> int:
        return int(self._epoch)

    def set_epoch(self, epoch: int):
        """Select the epoch whose random crops (and mixtures) are drawn; call before iterating the loader."""
        self._epoch.fill_(int(epoch))

    def rng(self, index: int) -> np.random.Generator:
        """The generator of item ``index`` in the current epoch (epoch 0 when not training)."""
        return np.random.default_rng([self.seed, self.epoch if self.train else 0, index])

    def load(self, index: int, rng: np.random.Generator | None = None) -> torch.Tensor | None:
        """The ``(T,)`` segment of clip ``index`` (cropped with ``rng``); None when unreadable or silent."""
        audio = self.records[index].audio
        crop_rng = rng if self.train else None
        try:
            return cut_segment(
                self._decode(audio), audio, self.segment_samples, crop_rng, self.silence_threshold
            )
        except AudioInputError as error:
            reason = "silent" if isinstance(error, SilentSegmentError) else "unreadable"
            self.skipped[reason] += 1
            if audio not in self._warned:
                self._warned.add(audio)
                warnings.warn(
                    f"skipping a clip: {error} ({self.skipped[reason]} {reason} so far)", stacklevel=2
                )
            return None

    def _decode(self, audio: str) -> torch.Tensor:
        """The whole clip ``(T,)`` at ``sample_rate``, from memory when ``keep_in_memory`` has kept it."""
        if self.decoded is None:
            return load_audio(audio, target_sample_rate=self.sample_rate)
        if audio not in self.decoded:
            self.decoded[audio] = load_audio(audio, target_sample_rate=self.sample_rate)
        return self.decoded[audio]

    def segment(self, index: int, rng: np.random.Generator) -> tuple[int, torch.Tensor]:
        """The ``(T,)`` segment of clip ``index`` or, when it is unusable, of another clip drawn with ``rng``.

        Returns the index of the clip used and its segment.
        """
        for _ in range(self.max_retries):
            wave = self.load(index, rng)
            if wave is not None:
                return index, wave
            index = int(rng.integers(len(self)))
        raise AudioInputError(
            f"{self.max_retries} clips in a row were unreadable or silent; see the warnings"
        )

    def __getitem__(self, index: int) -> dict:
        index, wave = self.segment(index, self.rng(index))
        record = self.records[index]
        return {"audio": wave, "id": record.id, "captions": record.captions, "labels": record.labels}


def class_balance_weights(records: Sequence[ClipRecord], power: float) -> np.ndarray | None:
    """Draw probabilities ``(N,)`` of the clips: a clip of a class with ``n`` clips weighs ``n ** -power`` (the
    class is its first label, or its first caption when it has none). ``power`` 0 gives ``None`` (every clip
    equally likely); 1 makes every class equally likely."""
    if not power:
        return None
    keys = [record.labels[0] if record.labels else record.captions[0] for record in records]
    counts = Counter(keys)
    weights = np.array([counts[key] ** -float(power) for key in keys])
    return weights / weights.sum()


class MixtureDataset(Dataset):
    """Target + interference mixtures made on the fly from a :class:`ClipDataset`.

    Args:
        clips: the clips (their ``sample_rate``, ``segment_seconds`` and ``train`` apply).
        snr_range: the target-to-interference SNR in dB is drawn uniformly from this range.
        num_interferers: how many interferers, or an inclusive ``(low, high)`` range to draw from. Several
            interferers are brought to equal RMS before their sum is scaled to the drawn SNR.
        mixture_lufs: bring the mixture to this loudness (or one drawn uniformly from a ``(low, high)``
            range); the same gain is applied to the target and the interference.
        max_draws: random candidates tried before scanning every clip for a compatible interferer.
        bandlimit_prob: probability that each source (target, every interferer) is low-passed at random
            (see :mod:`flowsep.data.augment`); 0 keeps every clip's own bandwidth.
        bandlimit_hz: the range the cutoff is drawn from.
        class_balance: interferers are drawn with :func:`class_balance_weights` of this power (0: every clip
            alike); :attr:`sample_weights` gives samplers the same weights for targets.

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
        max_draws: int = 100,
        bandlimit_prob: float = 0.0,
        bandlimit_hz: tuple[float, float] = (3000.0, 7500.0),
        class_balance: float = 0.0,
    ):
        if len(clips) < 2:
            raise AudioInputError("mixing needs at least two clips")
        self.clips = clips
        self.snr_range = snr_range
        self.num_interferers = (
            (num_interferers, num_interferers) if isinstance(num_interferers, int) else num_interferers
        )
        self.mixture_lufs, self.max_draws = mixture_lufs, max_draws
        self.bandlimit_prob, self.bandlimit_hz = bandlimit_prob, tuple(bandlimit_hz)
        self.sample_weights = class_balance_weights(clips.records, class_balance)

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def epoch(self) -> int:
        return self.clips.epoch

    def set_epoch(self, epoch: int):
        """Select the epoch's mixtures; call before iterating the DataLoader (persistent workers included)."""
        self.clips.set_epoch(epoch)

    def _candidates(self, rng: np.random.Generator) -> Iterator[int]:
        if self.sample_weights is None:
            yield from rng.integers(len(self), size=self.max_draws).tolist()
        else:
            yield from rng.choice(len(self), size=self.max_draws, p=self.sample_weights).tolist()
        yield from rng.permutation(len(self)).tolist()

    def _interferer(self, target: ClipRecord, rng: np.random.Generator) -> tuple[int, torch.Tensor]:
        for index in self._candidates(rng):
            if compatible(target, self.clips.records[index]):
                wave = self.clips.load(index, rng)
                if wave is not None:
                    return index, wave
        raise AudioInputError(f"no usable clip shares no label or caption keyword with {target.id!r}")

    def _band_limit(self, wave: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        rate = self.clips.sample_rate
        return random_band_limit(wave, rng, self.bandlimit_prob, self.bandlimit_hz, rate)

    def __getitem__(self, index: int) -> dict:
        rng = self.clips.rng(index)
        # 1. the target segment (another clip when this one is unusable) and its caption
        index, target = self.clips.segment(index, rng)  # (T,)
        record = self.clips.records[index]
        caption = record.captions[int(rng.integers(len(record.captions)))]
        # 2. interferers sharing no class with the target, at equal RMS, summed and scaled to the SNR
        count = int(rng.integers(self.num_interferers[0], self.num_interferers[1] + 1))
        picks = [self._interferer(record, rng) for _ in range(count)]
        target, picks = self._band_limit(target, rng), [(i, self._band_limit(wave, rng)) for i, wave in picks]
        interference = torch.stack([wave / rms(wave) for _, wave in picks]).sum(dim=0)  # (T,)
        snr = float(rng.uniform(*self.snr_range))
        interference = scale_to_snr(target, interference, snr)
        # 3. one gain for both parts, bringing the mixture to the asked loudness
        if self.mixture_lufs is not None:
            lufs = self.mixture_lufs
            lufs = float(rng.uniform(*lufs)) if isinstance(lufs, (tuple, list)) else float(lufs)
            gain = loudness_gain(target + interference, self.clips.sample_rate, lufs)
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
