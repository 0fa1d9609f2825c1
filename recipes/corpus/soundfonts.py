"""Soundfont clips rendered with fluidsynth: instruments, drum kits and General MIDI / GS sound effects.

Many clips are rendered by one fluidsynth process: each clip gets a fixed slot in one long MIDI file (notes,
then all-notes-off and a silent gap) and the output is cut at the slots afterwards, ~10x faster than one process
per clip. One-shot effects are re-triggered so that clips stay active. All renders of one preset reuse the same
samples, so they form one recording (``recording = soundfont:bank:program``) and never straddle a split.
"""

from __future__ import annotations

import random
import struct
import subprocess
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from .sources import Item

SAMPLE_RATE = 16000
NOTES_SECONDS = 6.0  # notes of one clip
CLIP_SECONDS = 7.0  # cut length (the release tail included)
SLOT_SECONDS = 8.0  # distance between clips in the long MIDI file
SLOTS_PER_BATCH = 48

SOUNDFONTS = {  # key -> (package of the soundfont files, sf2 files stacked in this order)
    "fluidr3": (
        "fluid-soundfont-gm",
        [
            "fluid-soundfont-gm/usr/share/sounds/sf2/FluidR3_GM.sf2",
            "fluid-soundfont-gs/usr/share/sounds/sf2/FluidR3_GS.sf2",
        ],
    ),
    "timgm6mb": ("timgm6mb-soundfont", ["timgm6mb-soundfont/usr/share/sounds/sf2/TimGM6mb.sf2"]),
}


@dataclass(frozen=True)
class Preset:
    """A soundfont preset to render: its class, MIDI bank/program, how to play it and around which note."""

    label: str
    subject: str | None
    bank: int
    program: int
    mode: str  # melody | chords | hits | hold | drums
    center: int = 60
    soundfonts: tuple[str, ...] = ("fluidr3", "timgm6mb")
    clips: int = 5
    spacing: float = 1.0  # scales note lengths and pauses of "hits" (short one-shots need dense re-triggers)


def _gm(label, mode, programs, center=60, clips=5):
    """Presets of bank 0 in both soundfonts; ``programs`` maps program number -> subject."""
    return [Preset(label, subject, 0, prog, mode, center, clips=clips) for prog, subject in programs.items()]


def _fx(label, subject, bank, program, mode, clips=8, soundfonts=("fluidr3",), spacing=1.0):
    """A sound-effect preset (FluidR3 only unless told): more clips, since one preset is one recording."""
    return Preset(label, subject, bank, program, mode, 60, soundfonts, clips, spacing)


PRESETS: list[Preset] = [
    *_gm("piano", "chords", {0: None, 1: None, 2: None, 3: None, 4: "electric_piano", 5: "electric_piano"}),
    *_gm("bells", "melody", {9: "glockenspiel", 10: "music_box", 14: "tubular_bells", 112: None}, center=72),
    *_gm("organ", "chords", {16: None, 17: None, 18: None, 19: "church_organ", 20: None}),
    *_gm(
        "guitar",
        "chords",
        {24: None, 25: None, 26: None, 27: None, 28: None, 29: "electric_guitar", 30: "electric_guitar"},
        center=55,
    ),
    *_gm("guitar", "melody", {32: "bass_guitar", 33: "bass_guitar", 34: "bass_guitar"}, center=40),
    *_gm(
        "strings",
        "melody",
        {
            40: "violin",
            41: None,
            44: "string_ensemble",
            45: None,
            48: "string_ensemble",
            49: "string_ensemble",
        },
        center=67,
    ),
    *_gm("strings", "chords", {46: "harp"}, center=60),
    *_gm("strings", "melody", {42: "cello", 43: "double_bass"}, center=45),
    *_gm("brass", "melody", {56: "trumpet", 59: "trumpet", 60: "french_horn", 61: None}, center=62),
    *_gm("brass", "melody", {57: "trombone", 58: "tuba"}, center=45),
    *_gm(
        "woodwind",
        "melody",
        {64: "saxophone", 65: "saxophone", 66: "saxophone", 68: "oboe", 69: "oboe", 71: "clarinet"},
        center=62,
    ),
    *_gm("woodwind", "melody", {72: "flute", 73: "flute", 74: "recorder", 75: "pan_flute"}, center=74),
    *_gm("woodwind", "melody", {70: "bassoon"}, center=45),
    Preset("bells", "church_bell", 8, 14, "melody", 60, ("fluidr3",)),
    Preset("organ", "church_organ", 8, 19, "chords", 60, ("fluidr3",)),
    Preset("guitar", "ukulele", 8, 24, "chords", 60, ("fluidr3",)),
    Preset("guitar", "mandolin", 16, 25, "melody", 67, ("fluidr3",)),
    Preset("strings", "violin", 8, 40, "melody", 67, ("fluidr3",)),
    Preset("brass", None, 8, 61, "melody", 60, ("fluidr3",)),
    *[Preset("drums", None, 0, kit, "drums", clips=4) for kit in (0, 8, 16, 24, 25, 32, 40, 48)],
    # General MIDI effects (TimGM6mb's bird and telephone are tiny blips: left out)
    *[
        _fx(label, subject, 0, prog, mode, clips=5, soundfonts=("fluidr3", "timgm6mb"))
        for prog, label, subject, mode in [
            (122, "water", "waves", "hold"),
            (125, "aircraft", "helicopter", "hold"),
            (126, "crowd", "applause", "hold"),
            (127, "explosion", "gunshot", "hits"),
        ]
    ],
    _fx("birds", None, 0, 123, "hits"),
    _fx("telephone", None, 0, 124, "hits"),
    # GS effects of FluidR3_GS (bank select 1-7)
    _fx("rain", None, 1, 122, "hold"),
    _fx("dog", None, 1, 123, "hits", spacing=0.35),
    _fx("telephone", None, 1, 124, "hits", spacing=0.5),
    _fx("vehicle", "car", 1, 125, "hold"),
    _fx("laughter", None, 1, 126, "hits"),
    _fx("explosion", "machine_gun", 1, 127, "hold"),
    _fx("thunder", None, 2, 122, "hits"),
    _fx("horse", "horse_gallop", 2, 123, "hold"),
    _fx("door", "door_creak", 2, 124, "hits"),
    _fx("vehicle", "car", 2, 125, "hits"),
    _fx("wind", None, 3, 122, "hold"),
    _fx("birds", None, 3, 123, "hits", spacing=0.4),
    _fx("door", "door_slam", 3, 124, "hits", spacing=0.6),
    _fx("vehicle", "car", 3, 125, "hits"),
    _fx("explosion", "explosion", 3, 127, "hits"),
    _fx("water", "stream", 4, 122, "hold"),
    _fx("water", "bubbles", 5, 122, "hold"),
    _fx("bells", "wind_chimes", 5, 124, "hits"),
    _fx("siren", None, 5, 125, "hold"),
    _fx("footsteps", None, 5, 126, "hits", spacing=0.4),
    _fx("train", None, 6, 125, "hold"),
    _fx("aircraft", "jet", 7, 125, "hold"),
]

SCALES = ([0, 2, 4, 5, 7, 9, 11], [0, 2, 3, 5, 7, 8, 10], [0, 2, 4, 7, 9])
DRUM_KEYS = {"kick": 36, "snare": 38, "hat": 42, "open_hat": 46, "tom": 45, "crash": 49}

Note = tuple[float, float, int, int]  # (start s, duration s, MIDI key, velocity)


def melody(rng: random.Random, center: int, length: float, chords: bool = False) -> list[Note]:
    """A random walk over a scale, with a triad under some notes when ``chords``."""
    scale, root = rng.choice(SCALES), center + rng.randint(-4, 4)
    beat, t, degree, notes = rng.uniform(0.3, 0.6), 0.0, 0, []
    while t < length - beat:
        duration = beat * rng.choice([0.5, 1, 1, 1, 2])
        degree = max(-7, min(9, degree + rng.choice([-3, -2, -1, -1, 0, 1, 1, 2, 3])))
        velocity = rng.randint(70, 110)
        for offset in [0, -2, -4] if chords and rng.random() < 0.35 else [0]:
            d = degree + offset
            notes.append(
                (t, duration * 0.95, root + 12 * (d // len(scale)) + scale[d % len(scale)], velocity)
            )
        t += duration
    return notes


def hits(rng: random.Random, center: int, length: float, spacing: float = 1.0) -> list[Note]:
    """One-shot effects re-triggered with short gaps (scaled by ``spacing``), so that the clip stays active."""
    t, notes = rng.uniform(0.0, 0.2), []
    while t < length - 0.3:
        duration = rng.uniform(0.4, 1.8) * spacing
        notes.append((t, duration, center + rng.randint(-3, 3), rng.randint(80, 120)))
        t += duration + rng.uniform(0.1, 0.7) * spacing
    return notes


HOLD_TRANSPOSE = (0, 4, -4, 2, -2, 6, -6)  # one pitch per clip: clips at the same pitch would be identical


def hold(rng: random.Random, center: int, length: float, variant: int = 0) -> list[Note]:
    """Sustained effects (rain, engines) as long notes back to back, transposed by the clip's ``variant``."""
    t, notes, key = 0.0, [], center + HOLD_TRANSPOSE[variant % len(HOLD_TRANSPOSE)]
    while t < length - 0.5:
        duration = min(rng.uniform(2.0, 4.0), length - t)
        notes.append((t, duration, key, rng.randint(90, 120)))
        t += duration
    return notes


def drum_pattern(rng: random.Random, length: float) -> list[tuple[float, str, int]]:
    """A two-bar rock/pop pattern of ``(time, role, velocity)`` with roles of :data:`DRUM_KEYS`, looped."""
    step = 60.0 / rng.uniform(80, 150) / 4  # a sixteenth note
    kick = {0, 8, 16, 24} | set(rng.sample([3, 6, 10, 11, 14, 19, 22, 27, 30], 3))
    snare = {4, 12, 20, 28} | ({rng.choice([15, 31])} if rng.random() < 0.5 else set())
    hat_every = rng.choice([1, 2, 2, 4])
    events, i = [(0.0, "crash", 110)], 0
    while i * step < length:
        s = i % 32
        if s in kick:
            events.append((i * step, "kick", rng.randint(100, 120)))
        if s in snare:
            events.append((i * step, "snare", rng.randint(95, 120)))
        if s % hat_every == 0:
            events.append((i * step, "open_hat" if s == 30 else "hat", rng.randint(60, 95)))
        if s in (29, 31) and rng.random() < 0.4:
            events.append((i * step, "tom", rng.randint(90, 115)))
        i += 1
    return events


def _varlen(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def midi_bytes(events: list[tuple[float, int, bytes]], ticks_per_second: int = 960) -> bytes:
    """A type-0 standard MIDI file from ``(time s, order, message)`` events (default tempo: 120 bpm, 480 ppq).

    ``order`` breaks ties at equal times (controls before note-offs before note-ons).
    """
    track, last = bytearray(), 0
    for time, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        tick = round(time * ticks_per_second)
        track += _varlen(tick - last) + message
        last = tick
    track += b"\x00\xff\x2f\x00"
    return (
        b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480) + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)
    )


def slot_events(
    preset: Preset, slot_start: float, rng: random.Random, variant: int = 0
) -> list[tuple[float, int, bytes]]:
    """MIDI events of clip number ``variant`` of a preset, in a slot starting at ``slot_start``: bank/program
    select, the notes, then all-notes-off and all-sound-off."""
    channel = 9 if preset.mode == "drums" else 0  # MIDI channel 10 plays drum kits
    control, program, note_on, note_off = 0xB0 | channel, 0xC0 | channel, 0x90 | channel, 0x80 | channel
    events = [
        (slot_start, 0, bytes([control, 0, preset.bank])),
        (slot_start, 0, bytes([control, 32, 0])),
        (slot_start, 0, bytes([program, preset.program])),
        (slot_start, 0, bytes([control, 7, 110])),
    ]
    if preset.mode == "drums":
        notes = [(t, 0.1, DRUM_KEYS[role], v) for t, role, v in drum_pattern(rng, NOTES_SECONDS)]
    elif preset.mode in ("melody", "chords"):
        notes = melody(rng, preset.center, NOTES_SECONDS, chords=preset.mode == "chords")
    elif preset.mode == "hits":
        notes = hits(rng, preset.center, NOTES_SECONDS, preset.spacing)
    else:
        notes = hold(rng, preset.center, NOTES_SECONDS, variant)
    for start, duration, key, velocity in notes:
        key = max(0, min(127, key))
        events.append((slot_start + start, 2, bytes([note_on, key, velocity])))
        events.append((slot_start + start + duration, 1, bytes([note_off, key, 0])))
    end = slot_start + CLIP_SECONDS
    events += [(end, 0, bytes([control, 123, 0])), (end, 0, bytes([control, 120, 0]))]
    return events


def _render(midi_path: Path, wav_path: Path, soundfonts: list[Path]) -> None:
    tmp = wav_path.with_suffix(".part.wav")
    subprocess.run(
        [
            "fluidsynth",
            "-ni",
            "-q",
            "-R",
            "0",
            "-C",
            "0",
            "-g",
            "0.6",
            "-r",
            str(SAMPLE_RATE),
            "-O",
            "float",
            "-F",
            str(tmp),
            *map(str, soundfonts),
            str(midi_path),
        ],
        check=True,
        capture_output=True,
    )
    tmp.rename(wav_path)


def soundfont_items(pkgs: Path, cache: Path, seed: int, workers: int = 2) -> list[Item]:
    """Plan, render (skipping batches already rendered from the same MIDI data) and return the clips as items."""
    rng = random.Random(seed)
    out_dir = cache / "fluidsynth"
    out_dir.mkdir(parents=True, exist_ok=True)
    items, jobs = [], []
    for key, (package, sf_files) in SOUNDFONTS.items():
        slots = [(p, k) for p in PRESETS if key in p.soundfonts for k in range(p.clips)]
        for b in range(0, len(slots), SLOTS_PER_BATCH):
            batch = slots[b : b + SLOTS_PER_BATCH]
            events = [
                e
                for i, (preset, k) in enumerate(batch)
                for e in slot_events(preset, i * SLOT_SECONDS, rng, k)
            ]
            data = midi_bytes(events)
            # the file name carries the MIDI checksum: a changed plan gives new files (and new clips downstream)
            stem = f"{key}-{b // SLOTS_PER_BATCH:02d}-{zlib.crc32(data):08x}"
            midi_path, wav_path = out_dir / f"{stem}.mid", out_dir / f"{stem}.wav"
            if not wav_path.exists():
                for old in out_dir.glob(f"{key}-{b // SLOTS_PER_BATCH:02d}-*"):
                    old.unlink()
                midi_path.write_bytes(data)
                jobs.append((midi_path, wav_path, [pkgs / f for f in sf_files]))
            for i, (preset, k) in enumerate(batch):
                gs = preset.bank in range(1, 8)
                items.append(
                    Item(
                        id=f"{key}-b{preset.bank}-p{preset.program}-{preset.label}-{k}",
                        label=preset.label,
                        source="fluid-soundfont-gs" if gs and key == "fluidr3" else package,
                        files=(wav_path,),
                        recording=f"{key}:{preset.bank}:{preset.program}",
                        subject=preset.subject,
                        start=i * SLOT_SECONDS,
                        stop=i * SLOT_SECONDS + CLIP_SECONDS,
                        max_segments=1,
                    )
                )
    with ThreadPoolExecutor(workers) as pool:
        list(
            tqdm(pool.map(lambda job: _render(*job), jobs), total=len(jobs), desc="fluidsynth", unit="batch")
        )
    return items
