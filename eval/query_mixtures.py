"""The mixtures a new user tries first: espeak speech over a tone melody, white or pink noise, clicks or music.

Shared by ``eval/evaluate_wordings.py`` (the README's wording table) and ``eval/bench_queries.py``. Every mixture
is made twice, as 16 kHz mono and as 44.1 kHz stereo (speech panned a little left, the other sound's channels
independent), at an SNR of -5, 0 or +5 dB (speech to the other sound, on the mono down-mix). Needs ``espeak-ng``.
Seeded: the same call gives the same mixtures.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from flowsep.audio import resample

SENTENCES = (
    "The quick brown fox jumps over the lazy dog, and then it runs back into the forest.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "We will meet at the station at seven, unless the train is late again this evening.",
)
KINDS = ("tone", "white noise", "pink noise", "clicks", "music")  # the other sound of each mixture
SNRS = (-5.0, 0.0, 5.0)
FORMATS = ((16000, 1), (44100, 2))  # (rate, channels)


@dataclass
class Mixture:
    """One mixture: ``speech`` and ``other`` ``(C, S)`` at ``rate``; ``mixture = speech + other``."""

    name: str
    kind: str
    snr: float
    rate: int
    speech: np.ndarray
    other: np.ndarray

    @property
    def mixture(self) -> np.ndarray:
        return self.speech + self.other


def espeak(text: str, rate: int, voice: str = "en-us") -> np.ndarray:
    """``(S,)`` float32 speech at ``rate`` from espeak-ng (22.05 kHz, resampled)."""
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is needed (apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
        wave, source_rate = sf.read(path, dtype="float32")
    return resample(wave[None], source_rate, rate)[0]


def other_sound(kind: str, length: int, rate: int, channels: int, rng: np.random.Generator) -> np.ndarray:
    """``(C, S)`` of one interfering sound, full band at ``rate``."""
    t = np.arange(length) / rate
    if kind in ("white noise", "pink noise"):
        noise = rng.standard_normal((channels, length))
        if kind == "pink noise":  # 1/f power: scale the spectrum by 1/sqrt(f)
            spectrum = np.fft.rfft(noise, axis=-1)
            freqs = np.fft.rfftfreq(length, 1 / rate)
            spectrum /= np.sqrt(np.maximum(freqs, 20.0))
            noise = np.fft.irfft(spectrum, length, axis=-1)
        return noise
    if kind == "tone":  # a melody of sine beeps, 0.25 s each with 0.05 s gaps
        notes = 440.0 * 2 ** (rng.integers(-5, 8, size=int(length / rate / 0.3) + 1) / 12)
        note = np.minimum((t / 0.3).astype(int), len(notes) - 1)
        gate = ((t % 0.3) < 0.25).astype(float)
        wave = np.sin(2 * np.pi * np.cumsum(notes[note]) / rate) * gate
        return np.repeat(wave[None], channels, axis=0)
    if kind == "clicks":  # short decaying noise bursts, about 8 per second
        wave = np.zeros((channels, length))
        click = rng.standard_normal(int(0.004 * rate)) * np.exp(
            -np.arange(int(0.004 * rate)) / (0.001 * rate)
        )
        for start in rng.integers(0, length - click.size, size=int(8 * length / rate)):
            wave[:, start : start + click.size] += click
        return wave
    if kind == "music":  # chords of harmonic tones with soft attacks, one per 0.5 s
        wave = np.zeros(length)
        for start in range(0, length, rate // 2):
            root = 220.0 * 2 ** (rng.integers(0, 12) / 12)
            span = np.arange(min(rate // 2, length - start)) / rate
            envelope = np.minimum(span / 0.02, 1.0) * np.exp(-span * 3)
            for ratio in (1.0, 1.25, 1.5):
                for harmonic in range(1, 6):
                    phase = 2 * np.pi * root * ratio * harmonic * span
                    wave[start : start + span.size] += envelope * np.sin(phase) / harmonic
        stereo = np.stack([wave, np.roll(wave, rate // 100)])[:channels]
        return stereo
    raise ValueError(f"unknown kind {kind!r}")


def mix(speech: np.ndarray, other: np.ndarray, snr: float) -> tuple[np.ndarray, np.ndarray]:
    """``speech, other`` ``(C, S)`` scaled so that the mono speech-to-other ratio is ``snr`` dB, speech RMS 0.05."""
    speech = speech * 0.05 / np.sqrt(np.mean(speech.mean(0) ** 2))
    gain = np.sqrt(np.mean(speech.mean(0) ** 2) / np.mean(other.mean(0) ** 2) / 10 ** (snr / 10))
    return speech.astype(np.float32), (other * gain).astype(np.float32)


def build_mixtures(seconds: float = 5.0, seed: int = 0, formats=FORMATS) -> list[Mixture]:
    """``len(KINDS) x len(SNRS) x len(formats)`` mixtures (30 by default), ``seconds`` long."""
    mixtures = []
    for rate, channels in formats:
        rng = np.random.default_rng(seed)
        for index, kind in enumerate(KINDS):
            for snr_index, snr in enumerate(SNRS):
                sentence = SENTENCES[(index + snr_index) % len(SENTENCES)]
                voice = espeak(sentence, rate)
                length = int(seconds * rate)
                voice = np.pad(voice, (int(0.2 * rate), max(0, length - voice.size)))[:length]
                speech = np.stack([voice, 0.7 * voice])[:channels]  # panned a little left in stereo
                speech, other = mix(speech, other_sound(kind, length, rate, channels, rng), snr)
                name = f"{kind.replace(' ', '-')}_{snr:+.0f}dB_{rate // 1000}k{'stereo' if channels > 1 else 'mono'}"
                mixtures.append(Mixture(name, kind, snr, rate, speech, other))
    return mixtures
