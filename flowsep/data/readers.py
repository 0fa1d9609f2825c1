"""Turn a local copy of a public dataset into clip records (nothing is downloaded).

Each ``read_<kind>(root, ...)`` walks ``root`` once for audio files (:data:`~flowsep.audio.AUDIO_SUFFIXES`,
restricted by ``audio_glob``), matches them to the dataset's metadata by file name or stem, and returns one
:class:`~flowsep.data.manifest.ClipRecord` per recording. Clips whose audio is not found are skipped with
one warning that counts them. :func:`build_manifest` writes the records as a manifest::

    flowsep build-manifest audiocaps /data/audiocaps manifests/audiocaps.jsonl

Assumed layouts (the metadata files may sit anywhere under ``root``):

* **AudioCaps**: ``train.csv``, ``val.csv``, ``test.csv`` with ``audiocap_id, youtube_id, start_time,
  caption``;
  audio named ``{youtube_id}``, ``Y{youtube_id}``, ``{youtube_id}_{start_time}`` or ``{audiocap_id}``.
  Rows of one YouTube clip are merged (val/test have five captions per clip).
* **Clotho**: ``clotho_captions_{development,validation,evaluation}.csv`` with ``file_name, caption_1..5``
  (-> train / valid / test); audio found by ``file_name``, preferably in a folder named after the split.
* **WavCaps**: ``json_files/<subset>/*.json`` holding ``{"data": [{"id", "caption", "duration", "audio"}]}``;
  audio found by the stem of ``id`` (AudioSet_SL ids end in ``.wav``), preferably in a folder whose name
  contains the subset (``FreeSound_flac``...). Clips longer than ``max_duration`` (10 s, as in the paper)
  are dropped.
* **VGGSound**: ``vggsound.csv`` without header: ``youtube_id, start_seconds, label, split``; audio named by
  ``name_formats`` (default ``{youtube_id}_{start:06d}``, ``{youtube_id}_{start}``); the label is the caption.
* **DCASE 2024 Task 9** development data: the Clotho files above, plus FSD50K captions as released with the
  baseline, ``*fsd50k*.json`` (``{"data": [{"wav": "<file>", "caption": "..."}]}``) or ``*fsd50k*.csv``
  (``fname``/``file_name``/``wav`` and ``caption`` or ``caption_1..``), all -> train; plus, when present,
  the synthetic validation index ``lass_synthetic_validation.csv`` (``source, noise, snr, caption``), whose
  ``source`` clips (``{source}.wav``) become valid records.
"""

from __future__ import annotations

import csv
import json
import os
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import soundfile as sf

from ..audio import AUDIO_SUFFIXES
from .manifest import ClipRecord, ManifestError, write_manifest

CLOTHO_SPLITS = {"development": "train", "validation": "valid", "evaluation": "test"}


class AudioIndex:
    """The audio files under ``root`` matching ``pattern``, looked up by file name or stem."""

    def __init__(self, root: str | os.PathLike, pattern: str = "**/*"):
        self.files: dict[str, list[Path]] = defaultdict(list)
        for path in sorted(Path(root).glob(pattern)):
            if path.suffix.lower() in AUDIO_SUFFIXES and path.is_file():
                self.files[path.name].append(path)
                self.files[path.stem].append(path)

    def find(self, *names: str, hint: str | None = None) -> Path | None:
        """The first file named (or stemmed) like one of ``names``; one whose path contains ``hint`` wins."""
        for name in names:
            paths = self.files.get(name, [])
            preferred = [p for p in paths if hint and hint.lower() in str(p).lower()]
            if preferred or paths:
                return (preferred or paths)[0]
        return None


class _Missing:
    """Counts clips whose audio file is missing and warns once, with the count, at the end of a reader."""

    def __init__(self, kind: str, root: str | os.PathLike):
        self.kind, self.root, self.names, self.total = kind, root, [], 0

    def check(self, path: Path | None, name: str) -> bool:
        self.total += 1
        if path is None:
            self.names.append(name)
        return path is not None

    def report(self):
        if self.names:
            warnings.warn(
                f"{self.kind}: skipped {len(self.names)} of {self.total} clips whose audio file was not "
                f"found under {self.root} (first: {self.names[0]!r})",
                stacklevel=3,
            )


def _find_files(root: Path, pattern: str) -> list[Path]:
    return sorted(path for path in root.rglob(pattern) if path.is_file())


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a metadata CSV with a header, keys and values stripped (a missing value reads as ``""``)."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return [
            {key.strip(): (value or "").strip() for key, value in row.items() if key}
            for row in csv.DictReader(handle)
        ]


def _json_data(path: Path) -> list | None:
    """The ``"data"`` list of a json metadata file, or ``None`` when the file has none."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    data = content.get("data") if isinstance(content, dict) else None
    return data if isinstance(data, list) else None


def _captions(row: dict[str, str]) -> list[str]:
    """The non-empty values of the ``caption``/``caption_N`` columns of a row."""
    return [
        text.strip()
        for key, text in row.items()
        if key and key.startswith("caption") and text and text.strip()
    ]


def read_audiocaps(root: str | os.PathLike, audio_glob: str = "**/*") -> list[ClipRecord]:
    """AudioCaps: one record per YouTube clip, its captions merged; split from the csv name."""
    root, index, missing, records = Path(root), AudioIndex(root, audio_glob), _Missing("audiocaps", root), []
    for csv_name, split in (("train.csv", "train"), ("val.csv", "valid"), ("test.csv", "test")):
        clips: dict[str, dict] = {}
        for path in _find_files(root, csv_name):
            for row in read_csv_rows(path):
                clip = clips.setdefault(row["youtube_id"], {"row": row, "captions": [], "ids": []})
                clip["captions"].append(row["caption"].strip())
                clip["ids"].append(row["audiocap_id"])
        for youtube_id, clip in clips.items():
            start = clip["row"].get("start_time", "")
            names = [
                youtube_id,
                f"Y{youtube_id}",
                f"{youtube_id}_{start}",
                f"Y{youtube_id}_{start}",
                *clip["ids"],
            ]
            audio = index.find(*names)
            if missing.check(audio, youtube_id):
                extra = {"youtube_id": youtube_id, "start_time": start}
                records.append(
                    ClipRecord(
                        f"audiocaps-{youtube_id}",
                        str(audio),
                        clip["captions"],
                        split=split,
                        source="audiocaps",
                        extra=extra,
                    )
                )
    missing.report()
    return records


def _clotho_records(root: Path, index: AudioIndex, missing: _Missing) -> list[ClipRecord]:
    records = []
    for csv_split, split in CLOTHO_SPLITS.items():
        for path in _find_files(root, f"clotho_captions_{csv_split}.csv"):
            for row in read_csv_rows(path):
                audio = index.find(row["file_name"], hint=csv_split)
                if missing.check(audio, row["file_name"]):
                    records.append(
                        ClipRecord(
                            f"clotho-{Path(row['file_name']).stem}",
                            str(audio),
                            _captions(row),
                            split=split,
                            source="clotho",
                        )
                    )
    return records


def read_clotho(root: str | os.PathLike, audio_glob: str = "**/*") -> list[ClipRecord]:
    """Clotho (v2): development / validation / evaluation -> train / valid / test."""
    missing = _Missing("clotho", root)
    records = _clotho_records(Path(root), AudioIndex(root, audio_glob), missing)
    missing.report()
    return records


def read_wavcaps(
    root: str | os.PathLike, max_duration: float = 10.0, audio_glob: str = "**/*"
) -> list[ClipRecord]:
    """WavCaps: all subsets' json files, clips up to ``max_duration`` seconds, split train."""
    root, index, missing, records = Path(root), AudioIndex(root, audio_glob), _Missing("wavcaps", root), []
    for path in _find_files(root, "*.json"):
        entries = _json_data(path)
        if entries is None:
            continue  # not a metadata file (e.g. WavCaps' blacklist files)
        subset = path.parent.name if path.parent != root else path.stem
        for entry in entries:
            stem = Path(str(entry["id"])).stem
            named = path.parent / str(entry.get("audio", ""))
            audio = named if named.is_file() else index.find(stem, hint=subset)
            if not missing.check(audio, stem):
                continue
            duration = entry.get("duration") or sf.info(str(audio)).duration
            if duration <= max_duration:
                records.append(
                    ClipRecord(
                        f"wavcaps-{subset}-{stem}",
                        str(audio),
                        [entry["caption"].strip()],
                        duration=float(duration),
                        split="train",
                        source=f"wavcaps/{subset}",
                        license=entry.get("license"),
                    )
                )
    missing.report()
    return records


def read_vggsound(
    root: str | os.PathLike,
    name_formats: Sequence[str] = ("{youtube_id}_{start:06d}", "{youtube_id}_{start}"),
    audio_glob: str = "**/*",
) -> list[ClipRecord]:
    """VGGSound: the class label is both the caption and the label; split train / test from the csv."""
    root, index, missing, records = Path(root), AudioIndex(root, audio_glob), _Missing("vggsound", root), []
    for path in _find_files(root, "vggsound.csv"):
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                if len(row) < 4 or not row[1].strip().isdigit():
                    continue  # a header or a blank line
                youtube_id, start, label, split = row[0], int(row[1]), row[2].strip(), row[3].strip()
                audio = index.find(*(fmt.format(youtube_id=youtube_id, start=start) for fmt in name_formats))
                if missing.check(audio, f"{youtube_id}_{start:06d}"):
                    records.append(
                        ClipRecord(
                            f"vggsound-{youtube_id}_{start:06d}",
                            str(audio),
                            [label],
                            [label],
                            split="test" if split == "test" else "train",
                            source="vggsound",
                            extra={"youtube_id": youtube_id, "start_time": start},
                        )
                    )
    missing.report()
    return records


def _fsd50k_captions(root: Path) -> dict[str, list[str]]:
    """File name -> captions, from the ``*fsd50k*`` json/csv caption files."""
    captions: dict[str, list[str]] = defaultdict(list)
    rows: list[dict] = []
    for path in _find_files(root, "*fsd50k*.json"):
        rows += _json_data(path) or []
    for path in _find_files(root, "*fsd50k*.csv"):
        rows += read_csv_rows(path)
    for row in rows:
        name = next((str(row[key]) for key in ("wav", "file_name", "fname") if row.get(key)), None)
        if name is None:
            continue
        captions[Path(name).name if Path(name).suffix else f"{name}.wav"] += _captions(row)
    return captions


def read_dcase2024_task9(root: str | os.PathLike, audio_glob: str = "**/*") -> list[ClipRecord]:
    """DCASE 2024 Task 9 (LASS) development data: Clotho, captioned FSD50K, synthetic validation sources."""
    root, index, missing = Path(root), AudioIndex(root, audio_glob), _Missing("dcase2024_task9", root)
    records = _clotho_records(root, index, missing)
    for name, captions in _fsd50k_captions(root).items():
        audio = index.find(name, hint="fsd50k")
        if missing.check(audio, name):
            records.append(
                ClipRecord(f"fsd50k-{Path(name).stem}", str(audio), captions, split="train", source="fsd50k")
            )
    sources: dict[str, list[str]] = defaultdict(list)
    for path in _find_files(root, "lass_synthetic_validation.csv"):
        for row in read_csv_rows(path):
            sources[row["source"]].append(row["caption"].strip())
    for source, captions in sources.items():
        audio = index.find(f"{source}.wav", source, hint="lass_validation")
        if missing.check(audio, source):
            records.append(
                ClipRecord(
                    f"lass-{source}",
                    str(audio),
                    list(dict.fromkeys(captions)),
                    split="valid",
                    source="dcase2024_task9",
                )
            )
    missing.report()
    return records


READERS: dict[str, Callable[..., list[ClipRecord]]] = {
    "audiocaps": read_audiocaps,
    "clotho": read_clotho,
    "wavcaps": read_wavcaps,
    "vggsound": read_vggsound,
    "dcase2024_task9": read_dcase2024_task9,
}


def build_manifest(kind: str, root: str | os.PathLike, out_path: str | os.PathLike, **options) -> Path:
    """Write the manifest of the dataset ``kind`` (a key of :data:`READERS`) under ``root`` to ``out_path``.

    ``options`` go to the reader (``audio_glob``, ``max_duration``, ``name_formats``). Raises
    :class:`ManifestError` for an unknown kind, a missing root, or when no clip was found.
    """
    if kind not in READERS:
        raise ManifestError(f"unknown dataset kind {kind!r}; expected one of {', '.join(READERS)}")
    if not Path(root).is_dir():
        raise ManifestError(f"dataset root is not a folder: {root}")
    records = READERS[kind](root, **options)
    if not records:
        raise ManifestError(
            f"no {kind} clips found under {root}; see flowsep.data.readers for the expected layout"
        )
    return write_manifest(records, out_path)
