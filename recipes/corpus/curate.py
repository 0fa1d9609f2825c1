"""Curation: near-duplicate removal, the split by recording, captions, manifests and the summary."""

from __future__ import annotations

import json
import random
import zlib
from collections import Counter, defaultdict
from pathlib import Path

import librosa
import numpy as np
from tqdm import tqdm

from flowsep.audio import load_audio

from .labels import captions_for, paraphrases_for
from .wordings import one_per_family

SPLITS = {"train": 0.8, "valid": 0.1, "test": 0.1}
# The cross-source test split: whole packages that neither train nor valid sees (speech, an instrument family
# and environmental sounds), the developers' own measure of how the model fares on recordings from elsewhere.
CROSS_SOURCE_SPLIT = "test_cross"
CROSS_SOURCE_PACKAGES = (
    "asterisk-core-sounds-fr-g722",  # June Wallack's prompts (no other package has her voice)
    "trigger-rally-data",  # a man's and a woman's co-driver calls
    "timgm6mb-soundfont",  # independently recorded instruments of every family
    "lincity-ng-data",  # traffic, trains, fire, crowds, sirens, water
    "redeclipse-data",  # forest, water and wind ambiences, thunder, insects, music
)
ALL_SPLITS = (*SPLITS, CROSS_SOURCE_SPLIT)
DUPLICATE_COSINE = 0.85
# fingerprint: 24 mel bands up to 5 kHz, 48 frames of 64 ms (3.1 s), compared at time lags of up to 0.5 s
FP_BANDS, FP_HOP, FP_FRAMES, FP_MAX_LAG, FP_FMAX = 24, 1024, 48, 8, 5000


def fingerprint(wave: np.ndarray, sample_rate: int = 16000) -> np.ndarray:
    """Log-mel pattern (dB, 50 dB range) of the first ~3.6 s: ``(bands, frames + max_lag)``."""
    length = (FP_FRAMES + FP_MAX_LAG - 1) * FP_HOP + 2048
    wave = np.pad(wave[:length], (0, max(0, length - len(wave))))
    mel = librosa.feature.melspectrogram(
        y=wave, sr=sample_rate, n_fft=2048, hop_length=FP_HOP, n_mels=FP_BANDS, fmax=FP_FMAX, center=False
    )
    db = 10 * np.log10(mel + 1e-10)
    return np.maximum(db, db.max() - 50.0)[:, : FP_FRAMES + FP_MAX_LAG].astype(np.float32)


def _windows(patterns: np.ndarray, lag: int) -> np.ndarray:
    """Unit-norm windows of ``FP_FRAMES`` frames starting at ``lag``: ``(N, bands * (frames - 1))``.

    Each frame's mean over bands (the broadband loudness) is removed and the window is differenced over time, so
    what remains is how the spectral shape *changes*: a re-encoded, re-gained or slightly shifted copy of a recording matches its
    original, while two different sounds with a similar spectrum (two rains) or a similar loudness envelope
    (two short events followed by silence) do not.
    """
    win = patterns[:, :, lag : lag + FP_FRAMES]
    win = win - win.mean(axis=1, keepdims=True)
    flat = np.diff(win, axis=2).reshape(len(win), -1)
    return flat / (np.linalg.norm(flat, axis=1, keepdims=True) + 1e-8)


def similarity(patterns: np.ndarray) -> np.ndarray:
    """Pairwise similarity ``(N, N)``: the best cosine over time shifts of up to ``FP_MAX_LAG`` frames."""
    base = _windows(patterns, 0)
    best = base @ base.T
    for lag in range(1, FP_MAX_LAG + 1):
        shifted = _windows(patterns, lag) @ base.T
        best = np.maximum(best, np.maximum(shifted, shifted.T))
    return best


def find_duplicates(patterns: np.ndarray, threshold: float = DUPLICATE_COSINE) -> dict[int, int]:
    """Greedy near-duplicate removal in the given order: ``{dropped index: index of the kept twin}``."""
    sims = similarity(patterns)
    np.fill_diagonal(sims, -1.0)
    dropped: dict[int, int] = {}
    for i in range(len(patterns)):
        if i in dropped:
            continue
        for j in np.flatnonzero(sims[i] > threshold):
            if j > i and j not in dropped:
                dropped[int(j)] = i
    return dropped


def split_recordings(clips_per_recording: dict[str, int], seed: int, key: str = "") -> dict[str, str]:
    """Assign whole recordings of one class to splits so that clip counts approach :data:`SPLITS`.

    A class with >= 2 recordings gets one in test, with >= 5 also one in valid; these minimums take the smallest
    recordings (ties broken at random), so that a class with few recordings keeps its big ones for training.
    The rest go, largest first, to the split furthest below its share of the clips.
    """
    recordings = sorted(clips_per_recording)
    random.Random(zlib.crc32(key.encode()) ^ seed).shuffle(recordings)
    recordings.sort(key=lambda r: clips_per_recording[r])  # stable: random order among equal sizes
    required = (["test"] if len(recordings) >= 2 else []) + (["valid"] if len(recordings) >= 5 else [])
    total = sum(clips_per_recording.values())
    assignment, filled = {}, Counter()
    for split, recording in zip(required, recordings):
        assignment[recording] = split
        filled[split] += clips_per_recording[recording]
    for recording in reversed(recordings[len(required) :]):
        split = max(SPLITS, key=lambda s: SPLITS[s] * total - filled[s])
        assignment[recording] = split
        filled[split] += clips_per_recording[recording]
    return assignment


def clip_captions(clip_id: str, item: dict, seed: int) -> list[str]:
    """Training captions of one clip: noun phrases (:func:`labels.captions_for`), then one wording of each other
    family of :mod:`wordings` (a word, a synonym, a sentence, an instruction)."""
    captions = captions_for(clip_id, item["label"], item["subject"], item["description"], seed)
    extra = one_per_family(item["label"], item["subject"], random.Random(f"{clip_id}/{seed}"))
    extra.pop("noun_phrase")
    return list(dict.fromkeys(captions + list(extra.values())))


def build_rows(results: list[dict], licenses: dict[str, str], seed: int) -> list[dict]:
    """Manifest rows (without ``split``) for every clip of every processed item."""
    rows = []
    for result in results:
        item = result["item"]
        for clip in result["clips"]:
            row = {
                "id": clip["id"],
                "audio": clip["audio"],
                "captions": clip_captions(clip["id"], item, seed),
                "labels": [item["label"]] + ([item["subject"]] if item["subject"] else []),
                "duration": clip["duration"],
                "source": item["source"],
                "license": licenses[item["source"]],
                "recording": item["recording"],
                "subject": item["subject"],
                "active_fraction": clip["active_fraction"],
                "orig_sample_rate": clip["orig_sample_rate"],
            }
            if item["description"]:
                row["description"] = item["description"]
            if item["credit"]:
                row["credit"] = item["credit"]
            rows.append(row)
    return sorted(rows, key=lambda r: (r["source"], r["id"]))


def clip_fingerprints(rows: list[dict], out: Path) -> np.ndarray:
    """Fingerprints of the rows' clips, ``(N, bands, frames)``; cached in ``.cache/fingerprints-*.npz`` by file."""
    cache_path = out / ".cache" / f"fingerprints-{FP_BANDS}-{FP_HOP}-{FP_FRAMES + FP_MAX_LAG}-{FP_FMAX}.npz"
    cached = dict(np.load(cache_path)) if cache_path.exists() else {}
    current = {}
    for row in tqdm(rows, desc="fingerprints", unit="clip"):
        path = out / row["audio"]
        key = f"{row['audio']}@{path.stat().st_mtime_ns}"
        current[key] = cached[key] if key in cached else fingerprint(load_audio(path).numpy())
    tmp = cache_path.with_suffix(".part.npz")
    np.savez(tmp, **current)
    tmp.rename(cache_path)
    return np.stack(list(current.values()))


def deduplicate(rows: list[dict], out: Path) -> tuple[list[dict], list[dict]]:
    """Drop near-duplicate clips (kept: the first in source/id order). Returns ``(kept, dropped)``."""
    twins = find_duplicates(clip_fingerprints(rows, out))
    dropped = [rows[i] | {"duplicate_of": rows[j]["id"]} for i, j in sorted(twins.items())]
    return [r for i, r in enumerate(rows) if i not in twins], dropped


def assign_splits(rows: list[dict], seed: int, withheld: tuple[str, ...] = CROSS_SOURCE_PACKAGES) -> None:
    """Set ``split`` on every row; valid and both test rows get paraphrases and ``query_wordings`` (one wording
    of every family of :mod:`wordings`, for the evaluation by wording).

    Rows of the ``withheld`` packages form :data:`CROSS_SOURCE_SPLIT`; the others are split by recording and
    stratified by class (:func:`split_recordings`).
    """
    per_class: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        if row.get("source") not in withheld:
            per_class[row["labels"][0]][row["recording"]] += 1
    split_of = {}
    for label, counts in per_class.items():
        split_of.update(split_recordings(counts, seed, key=label))
    for row in rows:
        row["split"] = CROSS_SOURCE_SPLIT if row.get("source") in withheld else split_of[row["recording"]]
        if row["split"] != "train":
            row["paraphrase_captions"] = paraphrases_for(row["labels"][0], row["subject"])
            rng = random.Random(f"{row['id']}/wordings/{seed}")
            row["query_wordings"] = one_per_family(row["labels"][0], row["subject"], rng)


def summarize(rows: list[dict], dropped: dict[str, int]) -> dict:
    """Clips per class and split, recordings and hours per class, clips and hours per source."""
    classes: dict[str, dict] = {}
    for row in rows:
        entry = classes.setdefault(
            row["labels"][0], {s: 0 for s in ALL_SPLITS} | {"recordings": set(), "hours": 0.0}
        )
        entry[row["split"]] += 1
        entry["recordings"].add(row["recording"])
        entry["hours"] += row["duration"] / 3600
    for entry in classes.values():
        entry["recordings"], entry["hours"] = len(entry["recordings"]), round(entry["hours"], 3)
    sources: dict[str, dict] = {}
    for row in rows:
        entry = sources.setdefault(row["source"], {"clips": 0, "hours": 0.0, "license": row["license"]})
        entry["clips"] += 1
        entry["hours"] += row["duration"] / 3600
    for entry in sources.values():
        entry["hours"] = round(entry["hours"], 3)
    return {
        "clips": len(rows),
        "hours": round(sum(r["duration"] for r in rows) / 3600, 3),
        "splits": dict(Counter(r["split"] for r in rows)),
        "classes": dict(sorted(classes.items())),
        "sources": dict(sorted(sources.items())),
        "dropped": dropped,
    }


def format_summary(summary: dict) -> str:
    """The summary as two plain-text tables."""
    lines = [f"{'class':16s} " + " ".join(f"{s:>10s}" for s in ALL_SPLITS) + f" {'recs':>5s} {'hours':>6s}"]
    for label, e in summary["classes"].items():
        counts = " ".join(f"{e[s]:10d}" for s in ALL_SPLITS)
        lines.append(f"{label:16s} {counts} {e['recordings']:5d} {e['hours']:6.2f}")
    totals = " ".join(f"{summary['splits'].get(s, 0):10d}" for s in ALL_SPLITS)
    lines.append(f"{'total':16s} {totals} {'':5s} {summary['hours']:6.2f}")
    lines += ["", f"{'source':30s} {'clips':>6s} {'hours':>6s}  license"]
    for name, e in summary["sources"].items():
        lines.append(f"{name:30s} {e['clips']:6d} {e['hours']:6.2f}  {e['license']}")
    lines += ["", "dropped: " + ", ".join(f"{k} {v}" for k, v in summary["dropped"].items())]
    return "\n".join(lines)


def write_jsonl(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".part")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.rename(path)


def write_outputs(out: Path, rows: list[dict], summary: dict, sources_md: str) -> None:
    """Write manifest.jsonl, one jsonl per split, summary.json, paraphrases.json and SOURCES.md."""
    write_jsonl(out / "manifest.jsonl", rows)
    for split in ALL_SPLITS:
        write_jsonl(out / f"{split}.jsonl", [r for r in rows if r["split"] == split])
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    keys = sorted({(r["labels"][0], r["subject"]) for r in rows}, key=str)
    paraphrases = {
        f"{label}/{subject}" if subject else label: paraphrases_for(label, subject) for label, subject in keys
    }
    (out / "paraphrases.json").write_text(json.dumps(paraphrases, indent=1, ensure_ascii=False) + "\n")
    (out / "SOURCES.md").write_text(sources_md)


def remove_stale_audio(out: Path, results: list[dict]) -> int:
    """Delete clip files no current item produced (left over from an earlier allow-list); returns the count."""
    current = {out / clip["audio"] for result in results for clip in result["clips"]}
    stale = [path for path in (out / "audio").rglob("*.wav") if path not in current]
    for path in stale:
        path.unlink()
    return len(stale)
