"""Clip datasets: fixed-length mono segments from a manifest (:class:`ClipDataset`) or from WebDataset tar
shards (:class:`ShardClipDataset`, written by :func:`write_shards`).

Both yield dicts ``{"audio": (T,) float32, "id": str, "captions": list[str], "labels": list[str]}`` with
``T = round(segment_seconds * sample_rate)``. Training segments are cropped at random from a seeded generator
(shorter clips are zero-padded at the end); validation segments start at the clip's beginning. Unreadable
files and silent segments are skipped with a warning (once per file) and counted in ``dataset.skipped``;
the counts are per process, so with DataLoader workers each worker keeps its own.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import braceexpand
import numpy as np
import soundfile as sf
import torch
from torch.utils.data import Dataset, IterableDataset

from ..audio import load_audio
from ..errors import AudioInputError
from .manifest import ClipRecord, read_manifest

AUDIO_KEYS = ("flac", "wav", "ogg", "mp3")  # the audio entries of a shard sample


def crop_or_pad(wave: torch.Tensor, length: int, rng: np.random.Generator | None = None) -> torch.Tensor:
    """``(T,) -> (length,)``: a window drawn with ``rng`` (the start if ``rng`` is None), or zero padding."""
    if wave.shape[-1] < length:
        return torch.nn.functional.pad(wave, (0, length - wave.shape[-1]))
    start = int(rng.integers(wave.shape[-1] - length + 1)) if rng is not None else 0
    return wave[start : start + length]


class _EpochMixin:
    """``set_epoch`` through shared memory, so that persistent DataLoader workers see the new epoch too."""

    def _init_epoch(self):
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()

    @property
    def epoch(self) -> int:
        return int(self._epoch)

    def set_epoch(self, epoch: int):
        """Select the epoch whose random crops (and mixtures) are drawn; call before iterating the loader."""
        self._epoch.fill_(int(epoch))


class _SkipCounter:
    """Counts skipped clips by reason and warns once per clip."""

    def _init_skips(self):
        self.skipped: Counter[str] = Counter()
        self._warned: set[str] = set()

    def _skip(self, clip: str, reason: str, detail: str):
        self.skipped[reason] += 1
        if clip not in self._warned:
            self._warned.add(clip)
            warnings.warn(f"skipping {clip}: {detail} ({self.skipped[reason]} {reason} so far)", stacklevel=3)


class ClipDataset(_EpochMixin, _SkipCounter, Dataset):
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
    """

    def __init__(
        self,
        records: Sequence[ClipRecord] | str | os.PathLike,
        sample_rate: int = 16000,
        segment_seconds: float = 10.24,
        train: bool = True,
        seed: int = 0,
        split: str | None = None,
        silence_threshold: float = 1e-4,
        max_retries: int = 20,
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
        self._init_epoch()
        self._init_skips()

    def __len__(self) -> int:
        return len(self.records)

    def rng(self, index: int) -> np.random.Generator:
        """The generator of item ``index`` in the current epoch (epoch 0 when not training)."""
        return np.random.default_rng([self.seed, self.epoch if self.train else 0, index])

    def load(self, index: int, rng: np.random.Generator | None = None) -> torch.Tensor | None:
        """The ``(T,)`` segment of clip ``index`` (cropped with ``rng``); None when unreadable or silent."""
        record = self.records[index]
        try:
            wave = load_audio(record.audio, target_sample_rate=self.sample_rate)
        except AudioInputError as error:
            self._skip(record.audio, "unreadable", str(error))
            return None
        wave = crop_or_pad(wave, self.segment_samples, rng if self.train else None)
        if float(wave.abs().max()) <= self.silence_threshold:
            self._skip(record.audio, "silent", "the segment is silent")
            return None
        return wave

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


def _expand(urls: str | Sequence[str | os.PathLike]) -> list[str]:
    """A brace pattern (``shards/shard-{000000..000009}.tar``) or a list of shards -> a list of shards."""
    return list(braceexpand.braceexpand(urls)) if isinstance(urls, str) else [str(url) for url in urls]


class ShardClipDataset(_EpochMixin, _SkipCounter, IterableDataset):
    """Fixed-length segments streamed from WebDataset tar shards (as written by :func:`write_shards`).

    In training, the shard order is shuffled per epoch (identically on every rank, before the shards are
    split by rank and by DataLoader worker), and clips pass a shuffle buffer; each (rank, worker) draws
    its crops and shuffling from its own seed ``(seed, epoch, rank, worker)``.

    Args:
        urls: a brace pattern or a list of shard paths/URLs.
        sample_rate, segment_seconds, train, seed, silence_threshold: as :class:`ClipDataset`.
        shuffle_buffer: clips held for shuffling in training.
    """

    def __init__(
        self,
        urls: str | Sequence[str | os.PathLike],
        sample_rate: int = 16000,
        segment_seconds: float = 10.24,
        train: bool = True,
        seed: int = 0,
        shuffle_buffer: int = 1000,
        silence_threshold: float = 1e-4,
    ):
        self.urls = _expand(urls)
        self.sample_rate = sample_rate
        self.segment_samples = round(segment_seconds * sample_rate)
        self.train, self.seed, self.shuffle_buffer = train, seed, shuffle_buffer
        self.silence_threshold = silence_threshold
        self._init_epoch()
        self._init_skips()

    def _decode(self, sample: dict, rng: np.random.Generator) -> dict | None:
        meta = json.loads(sample["json"])
        name = f"{sample['__url__']}:{meta['id']}"
        audio = next((value for key, value in sample.items() if key in AUDIO_KEYS), None)
        try:
            if audio is None:
                raise AudioInputError("no audio in the sample")
            data, rate = sf.read(io.BytesIO(audio), dtype="float32", always_2d=True)  # (T, C)
            wave = load_audio(data.T, sample_rate=rate, target_sample_rate=self.sample_rate, name=name)
        except (AudioInputError, sf.LibsndfileError, RuntimeError) as error:
            self._skip(name, "unreadable", str(error))
            return None
        wave = crop_or_pad(wave, self.segment_samples, rng if self.train else None)
        if float(wave.abs().max()) <= self.silence_threshold:
            self._skip(name, "silent", "the segment is silent")
            return None
        return {
            "audio": wave,
            "id": meta["id"],
            "captions": meta["captions"],
            "labels": meta.get("labels", []),
        }

    def __iter__(self) -> Iterator[dict]:
        import webdataset as wds

        rank, _, worker, _ = wds.utils.pytorch_worker_info()
        urls = list(self.urls)
        if self.train:
            np.random.default_rng([self.seed, self.epoch]).shuffle(urls)
        rng = np.random.default_rng([self.seed, self.epoch if self.train else 0, rank, worker])
        pipeline = wds.WebDataset(urls, shardshuffle=False, nodesplitter=wds.split_by_node, empty_check=False)
        if self.train:
            pipeline = pipeline.shuffle(self.shuffle_buffer, seed=int(rng.integers(2**31)))
        for sample in pipeline:
            item = self._decode(sample, rng)
            if item is not None:
                yield item


def write_shards(
    records: Sequence[ClipRecord] | str | os.PathLike,
    out_dir: str | os.PathLike,
    clips_per_shard: int = 1000,
    sample_rate: int | None = None,
) -> list[Path]:
    """Pack a manifest's clips into ``out_dir/shard-000000.tar``, ... (WebDataset layout).

    Each clip is stored as ``{key}.{flac|wav|...}`` (the file's bytes, or re-encoded as 16-bit FLAC at
    ``sample_rate`` when given, which shrinks 44.1 kHz corpora) and ``{key}.json`` (the record without its
    path). Keys are running numbers, since clip ids may hold dots. Missing or unreadable files are skipped
    with one counted warning. Returns the shard paths.
    """
    import webdataset as wds

    records = read_manifest(records) if isinstance(records, (str, os.PathLike)) else records
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    skipped, shards = [], []
    pattern = str(out_dir / "shard-%06d.tar")
    with wds.ShardWriter(pattern, maxcount=clips_per_shard, verbose=0, post=shards.append) as writer:
        for number, record in enumerate(records):
            meta = {key: value for key, value in record.to_dict().items() if key != "audio"}
            try:
                audio = Path(record.audio)
                if sample_rate is None:
                    extension, payload = audio.suffix.lstrip(".").lower(), audio.read_bytes()
                else:
                    buffer = io.BytesIO()
                    wave = load_audio(audio, target_sample_rate=sample_rate).numpy()
                    sf.write(buffer, wave, sample_rate, format="FLAC", subtype="PCM_16")
                    extension, payload = "flac", buffer.getvalue()
            except (OSError, AudioInputError):
                skipped.append(record.audio)
                continue
            writer.write({"__key__": f"{number:09d}", extension: payload, "json": json.dumps(meta).encode()})
    if skipped:
        warnings.warn(
            f"write_shards: skipped {len(skipped)} unreadable clip(s), first: {skipped[0]}", stacklevel=2
        )
    return [Path(shard) for shard in shards]
