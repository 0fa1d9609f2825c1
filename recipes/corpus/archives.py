"""Readers for the audio that games keep inside archives or in formats soundfile cannot read.

Each reader writes its output once into the cache (a ``.done`` marker makes a rerun skip it):

* zip archives (0 A.D.'s ``public.zip``, Warzone 2100's ``base.wz``, Trigger Rally's ``data.zip``): the audio
  members are extracted with their member paths;
* WavPack (``.wv``, Teeworlds): each file is decoded to 16-bit wav with ffmpeg.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

AUDIO_SUFFIXES = (".ogg", ".wav", ".flac", ".oga")


def extract_audio(archive: Path, out_dir: Path) -> Path:
    """Extract the audio members of a zip archive into ``out_dir`` once; returns ``out_dir``."""
    done = out_dir / ".done"
    if done.exists():
        return out_dir
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.infolist():
            name = Path(member.filename)
            if member.is_dir() or name.suffix.lower() not in AUDIO_SUFFIXES or ".." in name.parts:
                continue
            target = out_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(member) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink)
    done.touch()
    return out_dir


def decode_wavpack(folder: Path, out_dir: Path) -> Path:
    """Decode every ``.wv`` file under ``folder`` to ``out_dir/<same path>.wav`` once; returns ``out_dir``."""
    done = out_dir / ".done"
    if done.exists():
        return out_dir
    for source in sorted(folder.rglob("*.wv")):
        target = out_dir / source.relative_to(folder).with_suffix(".wav")
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_suffix(".part.wav")
        command = ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-c:a", "pcm_s16le", str(part)]
        subprocess.run(command, check=True)
        part.rename(target)
    done.touch()
    return out_dir
