"""Local dataset layouts the benchmarks are built from, beyond those of :mod:`flowsep.data.readers` (AudioCaps,
VGGSound and a generic manifest are read there). Nothing is downloaded. Metadata files may sit anywhere under the
root; audio files are found by name with :class:`flowsep.data.readers.AudioIndex`.

* **ESC-50** (``git clone https://github.com/karolpiczak/ESC-50``): ``meta/esc50.csv`` with ``filename, fold,
  target, category, esc10, src_file, take``; audio ``audio/<filename>``. The category is the label, and, with
  ``_`` read as a space, the query (``chirping_birds`` -> ``chirping birds``).
* **DCASE 2024 Task 9 validation** (Zenodo 10886481): ``lass_synthetic_validation.csv`` with a header and the
  columns ``source, noise, snr, caption`` (``query`` is accepted for ``caption``), one row per mixture: the clip
  ``<source>.wav`` described by ``caption`` plus ``<noise>.wav`` at ``snr`` dB; the clips are in
  ``lass_validation/``. Mixed as the task's evaluator does (powers over the whole segment, louder mixtures
  scaled down to a 0.9 peak with their parts).
* **DCASE 2024 Task 9 evaluation** sets, as released: ``lass_synthetic_evaluation.csv`` and
  ``lass_real_evaluation.csv``, columns ``wav`` (``file_name``/``fname`` accepted) and ``query`` (or
  ``caption``): one row per mixture, audio in ``lass_evaluation_synth/`` and ``lass_evaluation_real/``.
  They hold mixtures and queries only, so only CLAPScore applies; a synthetic set whose sources you have is
  built from a validation-style CSV instead (``--csv``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..data.manifest import ClipRecord, ManifestError
from ..data.readers import AudioIndex, read_csv_rows
from .mixing import Levels, MixturePlan

DCASE_CSVS = {
    "validation": "lass_synthetic_validation.csv",
    "synthetic": "lass_synthetic_evaluation.csv",
    "real": "lass_real_evaluation.csv",
}
DCASE_AUDIO_HINTS = {
    "validation": "lass_validation",
    "synthetic": "lass_evaluation_synth",
    "real": "lass_evaluation_real",
}


def find_metadata(root: str | os.PathLike, name: str) -> Path:
    """The file called ``name`` under ``root`` (the first in sorted order); a clear error when there is none."""
    root = Path(root)
    if root.is_file() and root.name == name:
        return root
    found = sorted(root.rglob(name)) if root.is_dir() else []
    if not found:
        raise ManifestError(f"no {name} under {root}: see flowsep.evaluation.sources for the expected layout")
    return found[0]


def _column(row: dict[str, str], names: Iterable[str], path: Path) -> str:
    for name in names:
        if row.get(name):
            return row[name]
    raise ManifestError(f"{path}: a row has none of the columns {', '.join(names)}: {row}")


def _missing_error(kind: str, missing: list[str], total: int, root) -> ManifestError:
    return ManifestError(
        f"{kind}: {len(missing)} of {total} audio files not found under {root} (first: {missing[0]!r}); "
        f"the benchmark is a fixed set, so none may be left out"
    )


def read_esc50(root: str | os.PathLike) -> list[ClipRecord]:
    """ESC-50's 2,000 clips, in ``esc50.csv``'s order, labelled by category."""
    meta = find_metadata(root, "esc50.csv")
    index, records, missing = AudioIndex(root), [], []
    rows = read_csv_rows(meta)
    for row in rows:
        audio = index.find(row["filename"], hint="audio")
        if audio is None:
            missing.append(row["filename"])
            continue
        category = row["category"]
        records.append(
            ClipRecord(
                f"esc50-{Path(row['filename']).stem}", str(audio), [category.replace("_", " ")], [category],
                source="esc50", extra={"fold": row.get("fold")},
            )
        )  # fmt: skip
    if missing:
        raise _missing_error("esc50", missing, len(rows), root)
    return records


def dcase_plans(root: str | os.PathLike, csv_path: str | os.PathLike | None = None) -> list[MixturePlan]:
    """One plan per row of a validation-style DCASE 2024 Task 9 CSV (``source, noise, snr, caption``)."""
    path = Path(csv_path) if csv_path is not None else find_metadata(root, DCASE_CSVS["validation"])
    index, plans, missing = AudioIndex(root), [], []
    rows = read_csv_rows(path)
    for row in rows:
        names = {key: _column(row, [key], path) for key in ("source", "noise")}
        found = {
            key: index.find(f"{name}.wav", name, hint=DCASE_AUDIO_HINTS["validation"])
            for key, name in names.items()
        }
        missing += [names[key] for key, audio in found.items() if audio is None]
        if None in found.values():
            continue
        query = _column(row, ("caption", "query"), path)
        source, noise = names["source"], names["noise"]
        target = ClipRecord(f"lass-{source}", str(found["source"]), [query], source="dcase2024_task9")
        interferer = ClipRecord(f"lass-{noise}", str(found["noise"]), [noise], source="dcase2024_task9")
        snr = float(_column(row, ["snr"], path))
        plans.append(MixturePlan(target, interferer, query, Levels(snr_db=snr)))
    if missing:
        raise _missing_error("dcase2024_task9", missing, 2 * len(rows), root)
    return plans


def dcase_released(
    root: str | os.PathLike, which: str, csv_path: str | os.PathLike | None = None
) -> list[ClipRecord]:
    """The mixtures of a released DCASE 2024 Task 9 evaluation set (``which``: ``synthetic`` or ``real``), as
    records whose caption is the query."""
    path = Path(csv_path) if csv_path is not None else find_metadata(root, DCASE_CSVS[which])
    index, records, missing = AudioIndex(root), [], []
    rows = read_csv_rows(path)
    for row in rows:
        name = _column(row, ("wav", "file_name", "fname"), path)
        audio = index.find(name, Path(name).stem, hint=DCASE_AUDIO_HINTS[which])
        if audio is None:
            missing.append(name)
            continue
        query = _column(row, ("query", "caption"), path)
        records.append(
            ClipRecord(f"lass-{which}-{Path(name).stem}", str(audio), [query], source="dcase2024_task9")
        )
    if missing:
        raise _missing_error(f"dcase2024_task9 {which}", missing, len(rows), root)
    return records


def keep_listed(records: list[ClipRecord], list_file: str | os.PathLike) -> list[ClipRecord]:
    """The records named in ``list_file`` (one clip id, YouTube id or file stem per line; ``#`` starts a comment),
    in the order of ``records``."""
    lines = Path(list_file).read_text(encoding="utf-8").splitlines()
    wanted = {line.split("#", 1)[0].strip() for line in lines} - {""}

    def names(record: ClipRecord) -> set[str]:
        return {record.id, Path(record.audio).stem, str(record.extra.get("youtube_id", ""))}

    kept = [record for record in records if names(record) & wanted]
    if not kept:
        raise ManifestError(
            f"none of the {len(wanted)} clips listed in {list_file} is among the {len(records)} read"
        )
    return kept
