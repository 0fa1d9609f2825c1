"""The kinds of benchmark and how each is built into a benchmark folder (see :mod:`flowsep.evaluation.benchmark`)
from a local dataset copy, reproducibly; the command line is ``flowsep build-benchmark``.

=========================  =============================================  ==========================================
kind                       SOURCE                                         default mixtures (the paper's)
=========================  =============================================  ==========================================
audiocaps                  AudioCaps root (test split)                    928, SNR uniform in [-15, 15] dB
vggsound                   VGGSound root (test split)                     2,000 from a pool of 200 clips, each
                                                                          source at a loudness in [-35, -25] LUFS
esc50                      ESC-50 root                                    2,000 (every clip once) at 0 dB
dcase2024-validation       DCASE 2024 Task 9 validation root              one per CSV row (3,000)
dcase2024-eval-synthetic   DCASE 2024 Task 9 evaluation root              the released mixtures, no references
dcase2024-eval-real        DCASE 2024 Task 9 evaluation root              the released recordings, no references
manifest                   a clip manifest (.jsonl/.csv)                  ``--count`` and ``--snr``/``--loudness``
=========================  =============================================  ==========================================

The layouts are those of :mod:`flowsep.data.readers` (AudioCaps, VGGSound) and :mod:`flowsep.evaluation.sources`
(ESC-50, DCASE). Interferers never share a class label (or, for caption-only clips, a caption keyword) with the
target; see :mod:`flowsep.evaluation.planning` for how every choice is seeded. Mixed items are cut to
``--segment-seconds`` (10 s; the clip's start, zero-padded); released mixtures are kept whole unless it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .. import __version__
from ..data.manifest import ClipRecord, ManifestError, filter_split, read_manifest
from ..data.readers import read_audiocaps, read_vggsound
from ..errors import UsageError
from .benchmark import BenchmarkWriter, check_benchmark_folder, quantize_pcm16
from .mixing import ClipLoader, MixturePlan, mix
from .planning import random_plans
from .sources import dcase_plans, dcase_released, keep_listed, read_esc50


@dataclass(frozen=True)
class RandomKind:
    """A benchmark of seeded random mixtures of the clips ``read(source)`` returns, with the paper's defaults."""

    read: Callable[[str], list[ClipRecord]]
    count: int | None = None
    snr: tuple[float, float] | None = None
    loudness: tuple[float, float] | None = None
    pool: int | None = None
    split: str | None = None


RANDOM_KINDS = {
    "audiocaps": RandomKind(read_audiocaps, 928, snr=(-15.0, 15.0), split="test"),
    "vggsound": RandomKind(read_vggsound, 2000, loudness=(-35.0, -25.0), pool=200, split="test"),
    "esc50": RandomKind(read_esc50, 2000, snr=(0.0, 0.0)),
    "manifest": RandomKind(read_manifest),
}
RELEASED_KINDS = {"dcase2024-eval-synthetic": "synthetic", "dcase2024-eval-real": "real"}
KINDS = (*RANDOM_KINDS, "dcase2024-validation", *RELEASED_KINDS)


@dataclass
class BuildSpec:
    """What to build. ``None`` fields take the kind's default (the paper's setting).

    Args:
        kind: one of :data:`KINDS`.
        source: the dataset's root folder (a manifest file for ``manifest``).
        out: the benchmark folder to write.
        name: the benchmark's name, prefix of its item ids (default: the kind).
        seed: seeds every random choice.
        count: the number of mixtures (random kinds).
        snr: SNR range in dB, or
        loudness: the loudness range (LUFS) each source is drawn from (random kinds).
        pool: draw from this many clips only (random kinds).
        balance_classes: targets class by class, not clip by clip (random kinds).
        split: keep only the clips of this split (default: ``test`` for AudioCaps and VGGSound, all otherwise).
        clip_list: a file listing the clips to draw from (random kinds), e.g. hand-picked clean VGGSound clips.
        csv: the DCASE index file, when not found under ``source``.
        sample_rate: the rate of the written files.
        segment_seconds: the length of every item; ``None``: 10 s for mixed items, whole released mixtures.
        force: rebuild over an existing benchmark.
    """

    kind: str
    source: str
    out: str
    name: str | None = None
    seed: int = 0
    count: int | None = None
    snr: tuple[float, float] | None = None
    loudness: tuple[float, float] | None = None
    pool: int | None = None
    balance_classes: bool = False
    split: str | None = None
    clip_list: str | None = None
    csv: str | None = None
    sample_rate: int = 16000
    segment_seconds: float | None = None
    force: bool = False


def _random_plans(spec: BuildSpec, loader: ClipLoader, info: dict) -> tuple[Iterable[MixturePlan], int]:
    """The plans of a random kind (drawn lazily) and their count; records the settings in ``info``."""
    kind = RANDOM_KINDS[spec.kind]
    snr, loudness = spec.snr, spec.loudness
    if snr is None and loudness is None:
        snr, loudness = kind.snr, kind.loudness
    count, pool = spec.count or kind.count, spec.pool or kind.pool
    if count is None or (snr is None) == (loudness is None):
        raise UsageError(f"{spec.kind}: give --count and one of --snr LO HI or --loudness LO HI")
    records, split = kind.read(spec.source), spec.split or kind.split
    records = filter_split(records, split) if split else records
    records = keep_listed(records, spec.clip_list) if spec.clip_list else records
    info |= {"count": count, "pool": pool, "split": split, "balance_classes": spec.balance_classes}
    info |= {"snr_db": list(snr)} if snr else {"lufs": list(loudness)}
    return random_plans(records, count, loader, spec.seed, snr, loudness, pool, spec.balance_classes), count


def build_benchmark(spec: BuildSpec) -> Path:
    """Build the benchmark ``spec`` describes; returns its manifest. Building twice gives identical files."""
    if spec.kind not in KINDS:
        raise UsageError(f"unknown benchmark kind {spec.kind!r}; expected one of {', '.join(KINDS)}")
    if not Path(spec.source).exists():
        raise ManifestError(f"dataset source not found: {spec.source}")
    check_benchmark_folder(
        spec.out, [path for path in (spec.source, spec.clip_list, spec.csv) if path], spec.force
    )
    released = spec.kind in RELEASED_KINDS
    random_only = {"count": spec.count, "snr": spec.snr, "loudness": spec.loudness, "pool": spec.pool,
                   "split": spec.split, "clip_list": spec.clip_list,
                   "balance_classes": spec.balance_classes or None}  # fmt: skip
    given = [name for name, value in random_only.items() if value is not None]
    if spec.kind not in RANDOM_KINDS and given:
        raise UsageError(
            f"{spec.kind} is a fixed set: {', '.join(given)} apply to {', '.join(RANDOM_KINDS)} only"
        )
    segment = spec.segment_seconds if spec.segment_seconds is not None or released else 10.0
    loader = ClipLoader(spec.sample_rate, segment)
    info = {
        "name": spec.name or spec.kind, "kind": spec.kind, "source": str(spec.source), "seed": spec.seed,
        "segment_seconds": segment, "flowsep_version": __version__,
    }  # fmt: skip
    writer = BenchmarkWriter(spec.out, info, spec.sample_rate, spec.force)
    if released:
        for record in tqdm(dcase_released(spec.source, RELEASED_KINDS[spec.kind], spec.csv), desc="copying"):
            waves = {"mixture": quantize_pcm16(loader.require(record))}
            writer.add(waves, record.captions[0], [], {"source_id": record.id})
        return writer.close()
    if spec.kind == "dcase2024-validation":
        plans = dcase_plans(spec.source, spec.csv)
        total = len(plans)
    else:
        plans, total = _random_plans(spec, loader, info)
    for plan in tqdm(plans, total=total, desc=f"mixing {info['name']}", unit="mix"):
        waves, fields = mix(
            loader.require(plan.target), loader.require(plan.interferer), plan.levels, spec.sample_rate
        )
        ids = {"target_id": plan.target.id, "interferer_ids": [plan.interferer.id]}
        writer.add(waves, plan.query, plan.target.labels, fields | ids)
    return writer.close()
