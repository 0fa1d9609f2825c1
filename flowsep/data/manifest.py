"""Clip manifests: :class:`ClipRecord`, reading/writing JSONL or CSV, validation, filtering by split.

A manifest lists one recording per row (see :mod:`flowsep.data` for the columns). JSONL is the native
format; CSV with the same column names is accepted, its ``captions``/``labels`` cells holding either a JSON
list (``["a dog barks", "barking"]``) or a ``|``-separated string (``a dog barks|barking``). Relative audio
paths are resolved against the manifest's folder when read, and written back relative to it when possible.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FlowSepError

SPLITS = ("train", "valid", "test", "test_cross")  # test_cross: a test of sources that train never saw
COLUMNS = ("id", "audio", "captions", "labels", "duration", "split", "source", "license")


class ManifestError(FlowSepError, ValueError):
    """A manifest that cannot be used; the message lists every bad row as ``file:line: problem``."""


@dataclass
class ClipRecord:
    """One recording of a manifest.

    Args:
        id: unique clip id (a recording, not a crop).
        audio: path of the audio file (absolute once read from a manifest).
        captions: one or more natural-language captions.
        labels: class labels, used to avoid mixing two clips of the same class; may be empty.
        duration: length in seconds, if known.
        split: ``"train"``, ``"valid"`` or ``"test"``, if known.
        source: provenance (dataset name).
        license: licence of the source.
        extra: any other columns of the row, kept so that a read/write round trip loses nothing.
    """

    id: str
    audio: str
    captions: list[str]
    labels: list[str] = field(default_factory=list)
    duration: float | None = None
    split: str | None = None
    source: str | None = None
    license: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The manifest row: known columns first (``None`` ones left out), then the extra ones."""
        row = {key: value for key, value in dataclasses.asdict(self).items() if key != "extra"}
        row = {key: value for key, value in row.items() if value is not None}
        return {**row, **self.extra}


def _string_list(value: Any, column: str) -> list[str]:
    """A JSON list of strings, a JSON-list string or a ``|``-separated string -> ``list[str]``."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        value = json.loads(text) if text.startswith("[") else text.split("|")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"'{column}' must be a list of strings, got {value!r}")
    return [item.strip() for item in value if item.strip()]


def record_from_row(row: dict[str, Any], base_dir: str | os.PathLike | None = None) -> ClipRecord:
    """Validate one manifest row and build its record; raises ``ValueError`` naming the problem."""
    row = {key: (None if value == "" else value) for key, value in row.items()}
    for column in ("id", "audio"):
        if not isinstance(row.get(column), str) or not row[column].strip():
            raise ValueError(f"missing or empty '{column}'")
    captions = _string_list(row.get("captions"), "captions")
    if not captions:
        raise ValueError("needs at least one non-empty caption in 'captions'")
    duration = row.get("duration")
    if duration is not None:
        try:
            duration = float(duration)
        except (TypeError, ValueError):
            raise ValueError(f"'duration' must be a number, got {duration!r}") from None
        if not duration > 0:
            raise ValueError(f"'duration' must be positive, got {duration}")
    split = row.get("split")
    if split is not None and split not in SPLITS:
        raise ValueError(f"'split' must be one of {', '.join(SPLITS)}, got {split!r}")
    audio = row["audio"]
    if base_dir is not None and not os.path.isabs(audio):
        audio = os.path.normpath(os.path.join(base_dir, audio))
    return ClipRecord(
        id=row["id"],
        audio=audio,
        captions=captions,
        labels=_string_list(row.get("labels"), "labels"),
        duration=duration,
        split=split,
        source=row.get("source"),
        license=row.get("license"),
        extra={key: value for key, value in row.items() if key not in COLUMNS and value is not None},
    )


def _rows(path: Path) -> Iterable[tuple[int, dict[str, Any] | str]]:
    """Yield ``(line number, row)``; a row that cannot be parsed comes as its problem (a string)."""
    with open(path, newline="", encoding="utf-8") as handle:
        if path.suffix.lower() == ".csv":
            reader = csv.DictReader(handle)
            for row in reader:
                yield reader.line_num, row
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                yield number, f"not valid JSON ({error.msg})"
                continue
            yield (
                number,
                row if isinstance(row, dict) else f"expected a JSON object, got {type(row).__name__}",
            )


def read_manifest(path: str | os.PathLike, split: str | None = None) -> list[ClipRecord]:
    """Read and validate a JSONL (``.jsonl``/``.json``) or ``.csv`` manifest.

    Args:
        path: the manifest file.
        split: keep only the records of this split (records without a split are dropped too).

    Returns:
        The records, audio paths made absolute.

    Raises:
        ManifestError: listing every bad row as ``path:line: problem`` (missing columns, no caption,
            bad duration or split, duplicate id, invalid JSON).
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"manifest not found: {path}")
    records, problems, seen = [], [], {}
    for number, row in _rows(path):
        if isinstance(row, str):
            problems.append(f"{path}:{number}: {row}")
            continue
        try:
            record = record_from_row(row, base_dir=path.parent.resolve())
            if record.id in seen:
                raise ValueError(f"duplicate id {record.id!r} (first on line {seen[record.id]})")
        except ValueError as error:
            problems.append(f"{path}:{number}: {error}")
            continue
        seen[record.id] = number
        records.append(record)
    if problems:
        raise ManifestError(f"{len(problems)} bad row(s) in manifest:\n" + "\n".join(problems))
    return filter_split(records, split) if split is not None else records


def filter_split(records: Iterable[ClipRecord], split: str) -> list[ClipRecord]:
    """The records whose ``split`` is ``split``."""
    if split not in SPLITS:
        raise ManifestError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    return [record for record in records if record.split == split]


def write_manifest(records: Iterable[ClipRecord], path: str | os.PathLike) -> Path:
    """Write records as JSONL, or as CSV when ``path`` ends in ``.csv`` (list cells as JSON lists).

    Audio paths inside the manifest's folder are written relative to it. The file is written atomically.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    base = path.parent.resolve()
    rows = []
    for record in records:
        row = record.to_dict()
        audio = Path(record.audio).resolve()
        if audio.is_relative_to(base):
            row["audio"] = audio.relative_to(base).as_posix()
        rows.append(row)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
            if path.suffix.lower() == ".csv":
                extra = sorted({key for row in rows for key in row} - set(COLUMNS))
                writer = csv.DictWriter(out, fieldnames=[*COLUMNS, *extra])
                writer.writeheader()
                for row in rows:
                    writer.writerow(
                        {k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in row.items()}
                    )
            else:
                for row in rows:
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
