"""Audio conditioning: every item becomes one or more 16 kHz mono clips.

Per item: decode and resample to 16 kHz mono (:func:`flowsep.audio.load_audio`; g722 through ffmpeg), join its
files with short pauses, high-pass at 20 Hz (DC offsets), keep the full band up to 8 kHz (sources sampled below
11 kHz are dropped; training mixes band-limit clips at random, so that bandwidth does not give a class away), trim leading and trailing
silence, repeat very short events with random pauses, cut long recordings into at most ``max_segments``
clips of <= 10 s, drop mostly silent clips, and normalise to -23 LUFS with a -1 dBFS peak ceiling.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import random
import subprocess
import zlib
from dataclasses import asdict
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, sosfiltfilt
from tqdm import tqdm

from flowsep.audio import load_audio, normalize_loudness, save_audio

from .sources import Item

SAMPLE_RATE = 16000
MIN_SOURCE_RATE = 11025  # below this a source lacks most of the band above 4 kHz
HIGHPASS_HZ = 20.0
TARGET_LUFS, PEAK_CEILING = -23.0, 10 ** (-1 / 20)
FRAME = 320  # 20 ms
TRIM_DB = 40.0  # trim frames quieter than the loudest frame minus this
ACTIVE_DB = 35.0  # a frame is active when within this of the loudest frame
MIN_ACTIVE = 0.3  # clips with fewer active frames are dropped
MIN_EVENT, SHORT_EVENT, REPEAT_TO = 0.15, 2.0, 3.5  # seconds: shortest kept / repeated below / repeated up to
MAX_CLIP = 10.0
JOIN_GAP = 0.3

PARAMS = {  # a cached clip is redone when any of these change
    "bandwidth": "full",
    "highpass": HIGHPASS_HZ,
    "lufs": TARGET_LUFS,
    "trim_db": TRIM_DB,
    "active_db": ACTIVE_DB,
    "min_active": MIN_ACTIVE,
    "events": [MIN_EVENT, SHORT_EVENT, REPEAT_TO],
    "max_clip": MAX_CLIP,
    "gap": JOIN_GAP,
}

_SOS_HP = butter(2, HIGHPASS_HZ, "highpass", fs=SAMPLE_RATE, output="sos")


def _read_file(path: Path, start: float = 0.0, stop: float | None = None) -> tuple[np.ndarray, int]:
    """One file as 16 kHz mono float32 and its original sample rate; g722 is decoded with ffmpeg."""
    if path.suffix == ".g722":
        raw = subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-f",
                "g722",
                "-i",
                str(path),
                "-ar",
                str(SAMPLE_RATE),
                "-ac",
                "1",
                "-f",
                "f32le",
                "-",
            ],
            check=True,
            capture_output=True,
        ).stdout
        wave, rate = np.frombuffer(raw, np.float32).copy(), SAMPLE_RATE
    else:
        rate = sf.info(str(path)).samplerate
        stop_frame = None if stop is None else int(stop * rate)
        wave, _ = sf.read(
            str(path), start=int(start * rate), stop=stop_frame, dtype="float32", always_2d=True
        )
        wave = load_audio(wave.T, sample_rate=rate, name=str(path)).numpy()
        start, stop = 0.0, None
    if start or stop is not None:
        wave = wave[int(start * SAMPLE_RATE) : None if stop is None else int(stop * SAMPLE_RATE)]
    return wave, rate


def read_item(item: Item) -> tuple[np.ndarray, int]:
    """The item's audio (its files joined with short pauses) and the lowest original sample rate among them."""
    if len(item.files) == 1:
        return _read_file(item.files[0], item.start, item.stop)
    parts, rates, gap = [], [], np.zeros(int(JOIN_GAP * SAMPLE_RATE), np.float32)
    for path in item.files:
        wave, rate = _read_file(path)
        parts += [trim(wave), gap]
        rates.append(rate)
    return np.concatenate(parts[:-1]), min(rates)


def condition(wave: np.ndarray) -> np.ndarray:
    """High-pass at 20 Hz, zero-phase (the full band above is kept)."""
    if len(wave) < 64:
        return wave
    return sosfiltfilt(_SOS_HP, wave).astype(np.float32)


def frame_db(wave: np.ndarray) -> np.ndarray:
    """RMS level of 20 ms frames in dB."""
    n = max(1, -(-len(wave) // FRAME))  # ceil
    frames = np.pad(wave, (0, n * FRAME - len(wave))).reshape(n, FRAME)
    return 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)


def trim(wave: np.ndarray, margin: float = 0.05) -> np.ndarray:
    """Cut leading and trailing frames quieter than the loudest frame minus :data:`TRIM_DB`."""
    levels = frame_db(wave)
    loud = np.flatnonzero(levels > max(levels.max() - TRIM_DB, -80.0))
    if loud.size == 0:
        return wave[:0]
    pad = int(margin * SAMPLE_RATE)
    return wave[max(0, loud[0] * FRAME - pad) : min(len(wave), (loud[-1] + 1) * FRAME + pad)]


def active_fraction(wave: np.ndarray) -> float:
    """Fraction of 20 ms frames within :data:`ACTIVE_DB` of the loudest frame."""
    levels = frame_db(wave)
    return float(np.mean(levels > levels.max() - ACTIVE_DB)) if levels.size else 0.0


def repeat_event(wave: np.ndarray, rng: random.Random) -> np.ndarray:
    """Repeat a short event with random pauses (0.15-0.7 s) until it lasts :data:`REPEAT_TO` seconds."""
    parts, total = [wave], len(wave)
    while total < REPEAT_TO * SAMPLE_RATE:
        gap = np.zeros(int(rng.uniform(0.15, 0.7) * SAMPLE_RATE), np.float32)
        parts += [gap, wave]
        total += len(gap) + len(wave)
    return np.concatenate(parts)


def split_segments(wave: np.ndarray, max_segments: int) -> list[np.ndarray]:
    """Cut audio longer than :data:`MAX_CLIP` into up to ``max_segments`` evenly spread 10 s segments."""
    size = int(MAX_CLIP * SAMPLE_RATE)
    if len(wave) <= size:
        return [wave]
    count = min(max_segments, math.ceil(len(wave) / size))
    starts = np.linspace(0, len(wave) - size, count).astype(int)
    return [wave[s : s + size] for s in starts]


def normalize(wave: np.ndarray) -> np.ndarray:
    """Bring a clip to -23 LUFS, then lower it if its peak would exceed -1 dBFS."""
    wave = normalize_loudness(wave, SAMPLE_RATE, TARGET_LUFS)
    wave = np.asarray(wave, np.float32)
    peak = float(np.abs(wave).max()) if wave.size else 0.0
    return wave * (PEAK_CEILING / peak) if peak > PEAK_CEILING else wave


def item_record(item: Item) -> dict:
    """The item as JSON-able fields; a cached result is reused only while this record is unchanged."""
    return asdict(item) | {"files": [str(f) for f in item.files]}


def make_clips(item: Item, out: Path, seed: int) -> dict:
    """Turn one item into clip files under ``out/audio/<label>``; returns ``{"clips": [...], "dropped": [...]}``."""
    result = {"item": item_record(item), "seed": seed, "params": PARAMS, "clips": [], "dropped": []}
    wave, rate = read_item(item)
    if rate < MIN_SOURCE_RATE:
        result["dropped"].append("low_sample_rate")
        return result
    wave = trim(condition(wave))
    if len(wave) < MIN_EVENT * SAMPLE_RATE:
        result["dropped"].append("too_short")
        return result
    rng = random.Random(zlib.crc32(item.id.encode()) ^ seed)
    if len(wave) < SHORT_EVENT * SAMPLE_RATE and not item.label.startswith("speech"):
        wave = repeat_event(wave, rng)
    segments = split_segments(wave, item.max_segments)
    for k, segment in enumerate(segments):
        clip_id = item.id if len(segments) == 1 else f"{item.id}-s{k}"
        active = active_fraction(segment)
        if active < MIN_ACTIVE:
            result["dropped"].append("inactive")
            continue
        rel = Path("audio") / item.label / f"{clip_id}.wav"
        save_audio(out / rel, normalize(segment), SAMPLE_RATE, subtype="PCM_16")
        result["clips"].append(
            {
                "id": clip_id,
                "audio": str(rel),
                "duration": round(len(segment) / SAMPLE_RATE, 3),
                "active_fraction": round(active, 3),
                "orig_sample_rate": rate,
            }
        )
    return result


def _work(args):
    item, out, seed, done_path = args
    result = make_clips(item, out, seed)
    tmp = done_path.with_suffix(".part")
    tmp.write_text(json.dumps(result))
    tmp.rename(done_path)
    return result


def make_all_clips(items: list[Item], out: Path, seed: int, workers: int = 2) -> list[dict]:
    """Process every item (in ``workers`` processes); finished items are read from ``.cache/items`` instead."""
    done_dir = out / ".cache" / "items"
    done_dir.mkdir(parents=True, exist_ok=True)
    results, todo = [], []
    for item in items:
        done = done_dir / f"{item.id}.json"
        cached = json.loads(done.read_text()) if done.exists() else None
        if (
            cached
            and cached["item"] == item_record(item)
            and cached["seed"] == seed
            and cached.get("params") == PARAMS
            and all((out / clip["audio"]).exists() for clip in cached["clips"])
        ):
            results.append(cached)
        else:
            todo.append((item, out, seed, done))
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        results += tqdm(
            pool.imap_unordered(_work, todo, chunksize=4), total=len(todo), desc="clips", unit="item"
        )
    return results
