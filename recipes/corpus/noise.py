"""Generated noise: the sound users most often want removed, so that "noise" and "hum" are queries the model
knows. Each item is its own recording of coloured noise (white, pink, brown or band-passed, steady or slowly
fluctuating) or mains hum (50/60 Hz and harmonics over a little hiss), made with NumPy from a seeded generator.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from tqdm import tqdm

from flowsep.audio import save_audio

from .sources import Item

SAMPLE_RATE, SECONDS = 16000, 6.0
KINDS = {  # kind -> (subject, spectral slope in dB per octave); None: mains hum
    "white": ("white_noise", 0.0),
    "pink": ("pink_noise", -3.0),
    "brown": ("brown_noise", -6.0),
    "band": ("white_noise", 0.0),
    "hum": ("hum", None),
}


def coloured_noise(rng: np.random.Generator, slope_db: float, length: int) -> np.ndarray:
    """Gaussian noise whose power falls by ``slope_db`` per octave: ``(length,)`` float64, unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    freqs = np.fft.rfftfreq(length, 1 / SAMPLE_RATE)
    gain = np.maximum(freqs, 20.0) ** (slope_db / (20 * np.log10(2)))
    wave = np.fft.irfft(spectrum * gain, n=length)
    return wave / (wave.std() + 1e-12)


def band_pass(rng: np.random.Generator, wave: np.ndarray) -> np.ndarray:
    """Keep a random band of one to three octaves (a hiss, a rumble or a whine)."""
    low = float(np.exp(rng.uniform(np.log(60.0), np.log(2500.0))))
    high = min(low * 2 ** rng.uniform(1.0, 3.0), 7800.0)
    spectrum = np.fft.rfft(wave)
    freqs = np.fft.rfftfreq(len(wave), 1 / SAMPLE_RATE)
    spectrum[(freqs < low) | (freqs > high)] = 0
    wave = np.fft.irfft(spectrum, n=len(wave))
    return wave / (wave.std() + 1e-12)


def mains_hum(rng: np.random.Generator, length: int) -> np.ndarray:
    """50 or 60 Hz and a few random-strength harmonics, over hiss 30 dB down."""
    t = np.arange(length) / SAMPLE_RATE
    base = rng.choice([50.0, 60.0])
    wave = sum(
        rng.uniform(0.1, 1.0) * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 2 * np.pi))
        for k in range(1, 8)
    )
    wave = wave / wave.std() + 0.03 * rng.standard_normal(length)
    return wave / wave.std()


def noise_wave(kind: str, rng: np.random.Generator) -> np.ndarray:
    """One recording of ``kind`` (see :data:`KINDS`), with a slow loudness fluctuation half of the time."""
    length = int(SAMPLE_RATE * SECONDS)
    slope = KINDS[kind][1]
    wave = mains_hum(rng, length) if slope is None else coloured_noise(rng, slope, length)
    if kind == "band":
        wave = band_pass(rng, wave)
    if rng.random() < 0.5:
        t = np.arange(length) / SAMPLE_RATE
        wave = wave * (1 + rng.uniform(0.2, 0.7) * np.sin(2 * np.pi * rng.uniform(0.1, 1.0) * t))
    return 0.1 * wave / np.sqrt(np.mean(wave**2))


def noise_items(cache: Path, per_kind: int, seed: int) -> list[Item]:
    """``per_kind`` generated recordings of every kind in :data:`KINDS` (kept in ``cache/noise``)."""
    out_dir = cache / "noise"
    out_dir.mkdir(parents=True, exist_ok=True)
    items = []
    jobs = [(kind, k) for kind in KINDS for k in range(per_kind)]
    for kind, k in tqdm(jobs, desc="noise", unit="rec"):
        path = out_dir / f"{kind}-{k:03d}-seed{seed}.wav"
        if not path.exists():
            rng = np.random.default_rng(random.Random(f"{kind}-{k}-{seed}").getrandbits(63))
            save_audio(path, noise_wave(kind, rng).astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
        items.append(
            Item(
                id=f"noise-{kind}-{k:03d}",
                label="noise",
                source="generated-noise",
                files=(path,),
                subject=KINDS[kind][0],
                max_segments=1,
            )
        )
    return items
