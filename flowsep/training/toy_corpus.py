"""A toy corpus generated from formulas (tones, chirps, noise, clicks), for smoke runs and tests.

``flowsep toy-corpus runs/toy-corpus`` writes ``audio/*.wav`` and the manifests
``train.jsonl`` and ``valid.jsonl`` (the format of :mod:`flowsep.data`), each clip with a class label and
a caption, so that on-the-fly mixing finds clips that share no class.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..audio import save_audio
from ..data import ClipRecord, write_manifest

SOUNDS = {
    "tone": "a steady high beep",
    "hum": "a low electrical hum",
    "chirp": "a rising whistle",
    "noise": "white noise hissing",
    "clicks": "rapid clicking",
    "pulses": "a pulsing alarm",
}


def synthesize(kind: str, seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """One clip of sound ``kind`` (a key of :data:`SOUNDS`), float32 in [-0.5, 0.5]."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    if kind == "tone":
        wave = np.sin(2 * np.pi * rng.uniform(800, 2000) * t)
    elif kind == "hum":
        f0 = rng.uniform(50, 120)
        wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 5))
    elif kind == "chirp":
        f0, f1 = rng.uniform(300, 600), rng.uniform(2000, 4000)
        wave = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * seconds)))
    elif kind == "noise":
        wave = rng.standard_normal(t.size)
    elif kind == "clicks":
        wave = np.zeros(t.size)
        wave[:: int(sample_rate / rng.uniform(10, 30))] = 1.0
    elif kind == "pulses":
        wave = np.sin(2 * np.pi * rng.uniform(400, 900) * t) * (np.sin(2 * np.pi * rng.uniform(2, 5) * t) > 0)
    else:
        raise ValueError(f"unknown toy sound {kind!r}")
    wave = np.asarray(wave, dtype=np.float64)
    return (0.5 * wave / max(np.abs(wave).max(), 1e-9)).astype(np.float32)


def corpus_files(out_dir: str | Path, clips_per_sound: int = 3) -> list[Path]:
    """Every file :func:`make_toy_corpus` writes: ``audio/<sound>-<n>.wav``, ``train.jsonl`` and ``valid.jsonl``."""
    out_dir = Path(out_dir)
    clips = [
        out_dir / "audio" / f"{kind}-{number}.wav" for kind in SOUNDS for number in range(clips_per_sound)
    ]
    return clips + [out_dir / "train.jsonl", out_dir / "valid.jsonl"]


def make_toy_corpus(
    out_dir: str | Path,
    clips_per_sound: int = 3,
    seconds: float = 1.0,
    sample_rate: int = 16000,
    seed: int = 0,
) -> tuple[Path, Path]:
    """Write the corpus; the last clip of each sound goes to the validation split.

    Returns the paths of ``train.jsonl`` and ``valid.jsonl``.
    """
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    records = []
    for kind, caption in SOUNDS.items():
        for number in range(clips_per_sound):
            clip_id = f"{kind}-{number}"
            path = out_dir / "audio" / f"{clip_id}.wav"  # as corpus_files lists it
            save_audio(path, synthesize(kind, seconds, sample_rate, rng), sample_rate)
            split = "valid" if number == clips_per_sound - 1 else "train"
            records.append(ClipRecord(clip_id, str(path), [caption], [kind], seconds, split, "toy", "CC0"))
    train = write_manifest([r for r in records if r.split == "train"], out_dir / "train.jsonl")
    valid = write_manifest([r for r in records if r.split == "valid"], out_dir / "valid.jsonl")
    return train, valid
