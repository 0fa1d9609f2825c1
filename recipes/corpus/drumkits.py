"""Drum patterns played with the one-shot samples of the Hydrogen drum kits (one kit = one recording)."""

from __future__ import annotations

import random
import re
import zlib
from pathlib import Path

import numpy as np
from tqdm import tqdm

from flowsep.audio import load_audio, save_audio

from .soundfonts import NOTES_SECONDS, SAMPLE_RATE, drum_pattern
from .sources import Item

ROLES = {  # role -> file-name pattern (case-insensitive)
    "kick": r"kick|(^|[^a-z])bd|bass ?drum|djembe\d? bass",
    "snare": r"snare|(^|[^a-z])(sn|sd)[^a-z]|clap|slap",
    "hat": r"hat|(^|[^a-z])hh|shake",
    "open_hat": r"op(en)?|ho_",
    "tom": r"tom|(^|[^a-z])(ft|t\d)[^a-z]|conga|bongo|tone",
    "crash": r"crash|ride|china|cymbal|(^|[^a-z])cc[^a-z]|splash",
}
AUDIO = (".wav", ".flac", ".aiff", ".aif")


def assign_roles(files: list[Path], rng: random.Random) -> dict[str, list[Path]]:
    """Map drum roles to a kit's samples by file name; a role no file matches gets random samples of the kit."""
    roles = {}
    for role, pattern in ROLES.items():
        matched = [f for f in files if re.search(pattern, f.stem, re.IGNORECASE)]
        if role == "open_hat":
            matched = [f for f in matched if f in roles["hat"]]
        roles[role] = matched or rng.sample(files, min(3, len(files)))
    return roles


def play_pattern(roles: dict[str, list[Path]], rng: random.Random, cache: dict) -> np.ndarray:
    """Mix one pattern of :func:`~soundfonts.drum_pattern` from the kit's samples; float32 ``(samples,)``."""
    events = drum_pattern(rng, NOTES_SECONDS)
    choice = {role: rng.choice(files) for role, files in roles.items()}  # one sample per role per pattern
    out = np.zeros(int((NOTES_SECONDS + 3.0) * SAMPLE_RATE), np.float32)
    for time, role, velocity in events:
        path = choice[role]
        if path not in cache:
            cache[path] = load_audio(path).numpy()[: 3 * SAMPLE_RATE]
        hit = cache[path] * (velocity / 127.0)
        start = int(time * SAMPLE_RATE)
        end = min(len(out), start + len(hit))
        out[start:end] += hit[: end - start]
    return out


def drumkit_items(root: Path, cache: Path, patterns: int, seed: int) -> list[Item]:
    """Render ``patterns`` clips per Hydrogen kit into ``cache/drumkits`` (skipping finished ones)."""
    rng = random.Random(seed)
    out_dir = cache / "drumkits"
    items = []
    kits = sorted(p for p in (root / "usr/share/hydrogen/data/drumkits").iterdir() if p.is_dir())
    for kit in tqdm(kits, desc="drum kits", unit="kit"):
        files = sorted(
            f for f in kit.iterdir() if f.suffix.lower() in AUDIO and "empty" not in f.stem.lower()
        )
        roles, samples = assign_roles(files, rng), {}
        slug = re.sub(r"[^a-z0-9]+", "-", kit.name.lower()).strip("-")
        for k in range(patterns):
            wave = play_pattern(roles, rng, samples)  # mixing is cheap: always redone, named by its checksum
            path = out_dir / f"{slug}-{k}-{zlib.crc32(wave.tobytes()):08x}.wav"
            if not path.exists():
                for old in out_dir.glob(f"{slug}-{k}-*.wav"):
                    old.unlink()
                save_audio(path, wave, SAMPLE_RATE, subtype="FLOAT")
            items.append(
                Item(
                    id=f"hydrogen-{slug}-{k}",
                    label="drums",
                    source="hydrogen-drumkits",
                    files=(path,),
                    recording=f"hydrogen:{slug}",
                    max_segments=1,
                )
            )
    return items
