"""Pack a built corpus into a compact copy, small enough to move to a GPU machine.

Every clip of the corpus's manifests is re-encoded with libsndfile to Ogg Opus (Ogg Vorbis where the installed
libsndfile has no Opus), mono at 16 kHz, at ``--kbps``, into ``audio/<split>/`` (so that a split can travel
alone: a GPU run needs no test clips). The manifests are rewritten to point at the new files
(ids, captions, labels, splits and every other column unchanged) and the corpus's other top-level files
(``SOURCES.md``, ``summary.json``, ``paraphrases.json``) are copied; other manifests (``duplicates.jsonl``) and
caches are left behind. Clips already encoded are skipped, so a rerun resumes. ``packing.json`` records the
settings, the packed size and how much packing changed the audio: SI-SDR and log-mel L1 of ``--measure``
packed clips against their originals, and the change of their 4-8 kHz band energy::

    python recipes/corpus/pack_corpus.py data/debian-corpus data/debian-corpus-packed [--kbps 12]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

import soundfile as sf
import torch
from tqdm import tqdm

from flowsep.audio import load_audio
from flowsep.data import ClipRecord, read_manifest, write_manifest
from flowsep.metrics import si_sdr
from flowsep.spectrogram import MelConfig, log_mel_spectrogram, stft

SAMPLE_RATE = 16000
MANIFESTS = ("manifest.jsonl", "train.jsonl", "valid.jsonl", "test.jsonl")
COPIED_SUFFIXES = (".md", ".json")
OPUS_KBPS_RANGE = (6.0, 256.0)  # libsndfile maps compression_level 1..0 linearly onto this Opus bitrate
HIGH_BAND_HZ = (4000.0, 8000.0)


def encoder_settings(kbps: float) -> dict:
    """``soundfile.write`` arguments: Opus at ``kbps``, or Vorbis at its smallest where Opus is missing."""
    if "OPUS" in sf.available_subtypes("OGG"):
        low, high = OPUS_KBPS_RANGE
        if not low <= kbps <= high:
            raise ValueError(f"--kbps: Opus takes {low:g} to {high:g} kbps, got {kbps:g}")
        return {"format": "OGG", "subtype": "OPUS", "compression_level": (high - kbps) / (high - low)}
    return {"format": "OGG", "subtype": "VORBIS", "compression_level": 1.0}


def packed_path(record: ClipRecord, source: Path, out: Path) -> Path:
    """``out/audio/<split>/<path under source/audio>.ogg`` for the clip of ``record``."""
    original = Path(record.audio)
    if not original.is_relative_to(source):
        raise ValueError(f"{record.id}: {original} is outside the corpus folder {source}")
    relative = original.relative_to(source)
    if relative.parts[0] == "audio":
        relative = relative.relative_to("audio")
    return (out / "audio" / (record.split or "unsplit") / relative).with_suffix(".ogg")


def encode_clip(source: Path, target: Path, settings: dict):
    """Write ``source`` as mono 16 kHz Ogg at ``target``, atomically (a temporary file renamed over it)."""
    wave = load_audio(source, target_sample_rate=SAMPLE_RATE).numpy()
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(handle)
    try:
        sf.write(tmp, wave, SAMPLE_RATE, **settings)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def high_band_db(wave: torch.Tensor) -> torch.Tensor:
    """Energy of the 4-8 kHz band ``(B,)`` in dB, from the BigVGAN framing STFT of ``(B, T)``."""
    config = MelConfig()
    power = stft(wave, config).abs().pow(2)  # (B, bins, frames)
    hz = torch.linspace(0, config.sample_rate / 2, power.shape[1])
    band = (hz >= HIGH_BAND_HZ[0]) & (hz <= HIGH_BAND_HZ[1])
    return 10 * torch.log10(power[:, band].sum(dim=(1, 2)) + 1e-10)


def audio_change(pairs: list[tuple[Path, Path]]) -> dict:
    """Mean SI-SDR (dB) and log-mel L1 of packed against original clips, and the mean change (dB) of their
    4-8 kHz band energy."""
    scores = {"si_sdr_db": [], "log_mel_l1": [], "high_band_change_db": []}
    for original, packed in pairs:
        a, b = load_audio(original), load_audio(packed)
        length = min(len(a), len(b))
        a, b = a[:length].unsqueeze(0), b[:length].unsqueeze(0)  # (1, T)
        scores["si_sdr_db"].append(float(si_sdr(b, a)))
        scores["log_mel_l1"].append(float((log_mel_spectrogram(b) - log_mel_spectrogram(a)).abs().mean()))
        scores["high_band_change_db"].append(float(high_band_db(b) - high_band_db(a)))
    return {"clips": len(pairs), **{key: sum(v) / len(v) for key, v in scores.items() if v}}


def pack_corpus(
    source: Path, out: Path, kbps: float = 12.0, measure: int = 40, max_mb: float | None = None
) -> dict:
    """Pack the corpus folder ``source`` into ``out``; returns what ``packing.json`` holds."""
    source, out = Path(source).resolve(), Path(out).resolve()
    manifests = [name for name in MANIFESTS if (source / name).is_file()]
    if not manifests:
        raise FileNotFoundError(f"{source}: none of {', '.join(MANIFESTS)}")
    settings = encoder_settings(kbps)
    summary = {"source": str(source), "kbps": kbps, **settings}
    record_file = out / "packing.json"
    if record_file.is_file():
        earlier = json.loads(record_file.read_text())
        if {key: earlier.get(key) for key in summary} != summary:
            raise SystemExit(f"{out} was packed with other settings ({record_file}): choose another folder")
    out.mkdir(parents=True, exist_ok=True)
    record_file.write_text(json.dumps(summary, indent=1) + "\n")

    records = {name: read_manifest(source / name) for name in manifests}
    packed = {}  # original audio -> packed audio
    for record in (r for rs in records.values() for r in rs):
        packed[Path(record.audio)] = packed_path(record, source, out)
    todo = [(a, b) for a, b in packed.items() if not b.is_file()]
    for original, target in tqdm(todo, desc=f"{settings['subtype'].lower()} {kbps:g} kbps", unit="clip"):
        encode_clip(original, target, settings)
    for name, rows in records.items():
        for record in rows:
            record.audio = str(packed[Path(record.audio)])
        write_manifest(rows, out / name)
    for path in source.iterdir():
        if path.is_file() and path.suffix in COPIED_SUFFIXES and path.name != record_file.name:
            shutil.copy2(path, out / path.name)

    pairs = sorted(packed.items())
    summary["clips"] = len(pairs)
    summary["source_mb"] = round(sum(a.stat().st_size for a, _ in pairs) / 1e6, 2)
    summary["audio_change"] = audio_change(random.Random(0).sample(pairs, min(measure, len(pairs))))
    summary["packed_mb"] = round(folder_bytes(out) / 1e6, 2)  # packing.json itself is a few hundred bytes
    summary["audio_mb"] = {d.name: round(folder_bytes(d) / 1e6, 2) for d in sorted((out / "audio").iterdir())}
    record_file.write_text(json.dumps(summary, indent=1) + "\n")
    if max_mb is not None and summary["packed_mb"] > max_mb:
        raise SystemExit(f"{out}: {summary['packed_mb']} MB is over --max-mb {max_mb:g}: lower --kbps")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("source", type=Path, help="a built corpus folder (manifests + audio)")
    parser.add_argument("out", type=Path, help="the packed copy to write (or to resume)")
    parser.add_argument("--kbps", type=float, default=12.0, help="Opus bitrate (default 12)")
    parser.add_argument("--measure", type=int, default=40, help="clips compared with their originals")
    parser.add_argument("--max-mb", type=float, default=60.0, help="fail when the packed folder is larger")
    args = parser.parse_args(argv)
    summary = pack_corpus(args.source, args.out, args.kbps, args.measure, args.max_mb)
    print(
        f"packed {summary['clips']} clips, {summary['source_mb']} MB -> {args.out}: {summary['packed_mb']} MB "
        f"({summary['subtype']}, {args.kbps:g} kbps)"
    )
    change = summary["audio_change"]
    if change["clips"]:
        print(
            f"packed against original, over {change['clips']} clips: SI-SDR {change['si_sdr_db']:.1f} dB, "
            f"log-mel L1 {change['log_mel_l1']:.3f}, 4-8 kHz energy {change['high_band_change_db']:+.1f} dB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
