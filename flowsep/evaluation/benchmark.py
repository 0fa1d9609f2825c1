"""Benchmark folders: a fixed set of mixtures, their reference sources, and the manifest that lists them.

Layout of a built benchmark (see :mod:`flowsep.evaluation.kinds`)::

    OUT/
      benchmark.json         how it was built: kind, source, seed, levels, sample rate, segment length
      manifest.jsonl         one row per mixture (below); written last, so a half-built folder has none
      mixture/<id>.wav       the input mixture
      reference/<id>.wav     the target source (absent from the as-released DCASE evaluation sets)
      interference/<id>.wav  the rest: mixture == reference + interference, sample for sample

Audio is 16-bit PCM (``PCM_16``): float WAV files carry a PEAK chunk stamped with the time of writing, so they
are never identical twice, while a 16-bit file is. Every sample is first rounded to the 16-bit grid
(:func:`quantize_pcm16`), so the written mixture is exactly the sum of the written parts.

A manifest row is a valid :class:`~flowsep.data.ClipRecord` row, so that every tool reading clip manifests (e.g.
``flowsep separate-batch``) reads a benchmark: ``audio`` is the mixture and ``captions[0]`` the query::

    {"id": "esc50-00000", "audio": "mixture/esc50-00000.wav", "captions": ["dog"], "labels": ["dog"],
     "split": "test", "source": "esc50", "reference": "reference/esc50-00000.wav",
     "interference": "interference/esc50-00000.wav", "snr_db": 0.0, "target_id": "esc50-1-100032-A-0",
     "interferer_ids": ["esc50-1-115545-A-48"]}
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..audio import save_audio
from ..data.manifest import ClipRecord, ManifestError, read_manifest, write_manifest
from ..errors import OutputPathError

if TYPE_CHECKING:  # torch is imported where it is used: reading a benchmark stays light
    import torch

MANIFEST_NAME = "manifest.jsonl"
INFO_NAME = "benchmark.json"
SUBTYPE = "PCM_16"
PCM16_SCALE = 32768.0  # libsndfile maps float x to the integer round(x * 32768) and reads k back as k / 32768
PARTS = ("mixture", "reference", "interference")
NEEDS_REFERENCE = ("sisdr", "fad")  # metrics computed against the reference source
DEFAULT_BENCHMARK_DIR = "data/benchmarks"


def quantize_pcm16(wave: torch.Tensor) -> torch.Tensor:
    """Round ``(T,)`` samples to the 16-bit grid ``k / 32768`` that a ``PCM_16`` file stores and reads back exactly."""
    import torch

    return (
        torch.round(wave.double() * PCM16_SCALE).clamp(-PCM16_SCALE, PCM16_SCALE - 1).div(PCM16_SCALE).float()
    )


@dataclass
class BenchmarkItem:
    """One mixture of a benchmark.

    Args:
        id: the item's id.
        mixture: the mixture's file.
        query: the text query (the manifest's first caption).
        reference: the target source's file, if the benchmark has one.
        interference: the interference's file, if any.
        snr_db: target-to-interference ratio of the mixture, if known.
        extra: the other columns of the manifest row (source ids, loudness, ...).
    """

    id: str
    mixture: Path
    query: str
    reference: Path | None = None
    interference: Path | None = None
    snr_db: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Benchmark:
    """A read benchmark: its ``name``, ``manifest`` file, ``items`` and build ``info`` (``benchmark.json``)."""

    name: str
    manifest: Path
    items: list[BenchmarkItem]
    info: dict[str, Any]

    @property
    def has_references(self) -> bool:
        return all(item.reference is not None for item in self.items)


def resolve_benchmark(spec: str | os.PathLike) -> Path:
    """The manifest named by ``spec``: a manifest file, a built benchmark folder, or the name of a folder under
    ``$FLOWSEP_BENCHMARKS`` (default ``data/benchmarks``)."""
    path = Path(spec)
    if not path.exists() and not path.is_absolute() and len(path.parts) == 1:
        path = Path(os.environ.get("FLOWSEP_BENCHMARKS", DEFAULT_BENCHMARK_DIR)) / path
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(
            f"benchmark not found: {spec} (expected a built benchmark folder holding {MANIFEST_NAME}, a manifest "
            f"file, or a folder name under $FLOWSEP_BENCHMARKS); build one with flowsep build-benchmark"
        )
    return path


def read_benchmark(spec: str | os.PathLike, limit: int | None = None) -> Benchmark:
    """Read a benchmark (see :func:`resolve_benchmark` for ``spec``), keeping its first ``limit`` items if given."""
    manifest = resolve_benchmark(spec)
    info_file = manifest.parent / INFO_NAME
    info = json.loads(info_file.read_text()) if info_file.is_file() else {}
    base = manifest.parent.resolve()

    def path_of(record: ClipRecord, key: str) -> Path | None:
        value = record.extra.get(key)
        return None if value is None else base / value

    items = [
        BenchmarkItem(
            id=record.id,
            mixture=Path(record.audio),
            query=record.captions[0],
            reference=path_of(record, "reference"),
            interference=path_of(record, "interference"),
            snr_db=None if record.extra.get("snr_db") is None else float(record.extra["snr_db"]),
            extra={k: v for k, v in record.extra.items() if k not in ("reference", "interference", "snr_db")},
        )
        for record in read_manifest(manifest)
    ]
    if not items:
        raise ManifestError(f"benchmark {manifest} has no items")
    name = info.get("name") or (manifest.parent.name if manifest.name == MANIFEST_NAME else manifest.stem)
    return Benchmark(name=name, manifest=manifest, items=items[:limit] if limit else items, info=info)


def check_benchmark(benchmark: Benchmark, metrics: Sequence[str], trim: bool = False):
    """Refuse, before any work, a benchmark that cannot be scored as it stands: ``metrics`` that need references
    on one without them, a query that is not one (empty, invisible characters), a mixture or reference that cannot
    be read, or a reference whose length differs from its mixture's (unless ``trim``: then the shared part is
    scored, and the report says so). Reads file headers only."""
    import soundfile as sf

    from ..errors import QueryError, UsageError
    from ..queries import check_query

    needing = [name for name in NEEDS_REFERENCE if name in metrics]
    if needing and not benchmark.has_references:
        raise UsageError(
            f"benchmark {benchmark.name!r} has items without a reference source: {', '.join(needing)} "
            f"cannot be computed on it (use --metrics clap, which gives CLAPScore)"
        )
    problems, lengths_differ = [], False
    for item in benchmark.items:
        origin = f"{benchmark.manifest}: item {item.id!r}"
        try:
            check_query(item.query, f"{origin}, query")
        except QueryError as error:
            problems.append(str(error))
        seconds = {}
        for part, path in (("mixture", item.mixture), ("reference", item.reference)):
            try:
                info = sf.info(str(path)) if path is not None else None
            except (RuntimeError, OSError, TypeError) as error:  # missing or not audio
                problems.append(f"{origin}: its {part} {path} cannot be read ({error})")
                continue
            if info is not None:
                seconds[part] = (info.frames / info.samplerate, info.samplerate)
        if len(seconds) == 2 and not trim:
            (mixture, rate), (reference, other) = seconds["mixture"], seconds["reference"]
            if abs(mixture - reference) * min(rate, other) > 1:  # more than a sample apart
                problems.append(
                    f"{origin}: its reference lasts {reference:.3f} s, its mixture {mixture:.3f} s"
                )
                lengths_differ = True
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        hint = "; pass --trim to score the shared part of each pair" if lengths_differ else ""
        raise ManifestError(f"{problems[0]}{more}: nothing was evaluated{hint}")


def check_benchmark_folder(
    folder: str | os.PathLike, inputs: Sequence[str | os.PathLike], force: bool = False
):
    """Refuse, before any work, a benchmark folder that is a file or under one, not writable, holding one of the
    build's ``inputs`` or held by an input folder (the build would read its own output), or holding a benchmark
    already (unless ``force``)."""
    from ..commands.outputs import check_writable_folder

    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{folder} exists and is not a folder: give a folder for the benchmark")
    check_writable_folder(path, shown=folder)
    for source in inputs:
        source_path, target = Path(source).resolve(), path.resolve()
        if source_path.is_relative_to(target) or (
            source_path.is_dir() and target.is_relative_to(source_path)
        ):
            raise OutputPathError(
                f"the benchmark folder {folder} and the input {source} overlap: choose another"
            )
    if (path / MANIFEST_NAME).exists() and not force:
        raise OutputPathError(f"{folder} already holds a benchmark: pass --force to rebuild it")


def remove_benchmark(folder: Path):
    """Remove the benchmark in ``folder``: the part files its manifest lists, the manifest and ``benchmark.json``,
    and the part folders left empty. Nothing else is touched (a file the manifest names outside the folder is
    not deleted)."""
    root = folder.resolve()
    for item in read_benchmark(folder).items:
        for path in (item.mixture, item.reference, item.interference):
            if path is not None and path.resolve().parent.parent == root and path.parent.name in PARTS:
                path.unlink(missing_ok=True)
    for name in (MANIFEST_NAME, INFO_NAME):
        (folder / name).unlink(missing_ok=True)
    for part in PARTS:
        if (folder / part).is_dir() and not any((folder / part).iterdir()):
            (folder / part).rmdir()


class BenchmarkWriter:
    """Writes a benchmark folder item by item; :meth:`close` writes the manifest and ``benchmark.json`` last.

    Args:
        folder: the benchmark folder; refused when it already holds a manifest, unless ``force`` (then the
            files the previous manifest lists are removed first, see :func:`remove_benchmark`).
        info: the build description saved as ``benchmark.json`` (its ``name`` names the items).
        sample_rate: the rate of every written file.
        force: rebuild over an existing benchmark.
    """

    def __init__(
        self, folder: str | os.PathLike, info: dict[str, Any], sample_rate: int, force: bool = False
    ):
        self.folder, self.info, self.sample_rate = Path(folder), info, sample_rate
        check_benchmark_folder(self.folder, (), force)
        if (self.folder / MANIFEST_NAME).exists():
            remove_benchmark(self.folder)
        self.records: list[ClipRecord] = []

    def add(
        self, waves: dict[str, torch.Tensor], query: str, labels: list[str], fields: dict[str, Any]
    ) -> str:
        """Write item ``len(self)``: ``waves`` maps each of ``mixture`` (required), ``reference`` and
        ``interference`` to ``(T,)`` samples on the 16-bit grid; ``fields`` are extra manifest columns."""
        item_id = f"{self.info['name']}-{len(self.records):05d}"
        paths = {}
        for part in PARTS:
            if part in waves:
                save_audio(
                    self.folder / part / f"{item_id}.wav", waves[part], self.sample_rate, subtype=SUBTYPE
                )
                paths[part] = f"{part}/{item_id}.wav"
        extra = {key: value for key, value in paths.items() if key != "mixture"} | fields
        record = ClipRecord(
            item_id, str(self.folder / paths["mixture"]), [query], labels=list(labels), split="test",
            source=self.info["name"], extra=extra,
        )  # fmt: skip
        self.records.append(record)
        return item_id

    def __len__(self) -> int:
        return len(self.records)

    def close(self) -> Path:
        """Write ``benchmark.json`` (with the item count) and the manifest; returns the manifest's path."""
        if not self.records:
            raise ManifestError(f"no item was written to {self.folder}")
        info = {**self.info, "items": len(self.records), "sample_rate": self.sample_rate, "subtype": SUBTYPE}
        (self.folder / INFO_NAME).write_text(json.dumps(info, indent=2) + "\n")
        return write_manifest(self.records, self.folder / MANIFEST_NAME)
