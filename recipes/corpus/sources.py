"""Recorded-sound sources: the :class:`Item` every source produces, and the items of the allow-listed files.

Files that are re-cuts of one recording (``bird2_00``, ``bird2_03``) share a ``recording`` so that the split
keeps them together.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

from .allowlist import (
    HEDGEWARS,
    LINCITY,
    MUSIC,
    MUSIC_SEGMENTS,
    OPENSFX,
    SMALL_PACKS,
    SONIC_PI,
    TUXPAINT,
    WIDELANDS,
)


@dataclass
class Item:
    """One source recording to turn into clips.

    Args:
        id: unique id, the prefix of its clips' ids.
        label: class in :data:`labels.CLASSES`.
        source: the Debian package it comes from.
        files: audio file(s); several files are joined with short pauses (e.g. spoken words of one speaker).
        recording: split group; items sharing it never end up in different splits (defaults to ``id``).
        subject: finer subject in :data:`labels.SUBJECTS`.
        description: free-text description shipped with the sound (a caption).
        start, stop: the part of the (joined) audio to use, in seconds.
        max_segments: how many clips a long recording may give.
        credit: per-file credit, where the package has one.
    """

    id: str
    label: str
    source: str
    files: tuple[Path, ...]
    recording: str = ""
    subject: str | None = None
    description: str | None = None
    start: float = 0.0
    stop: float | None = None
    max_segments: int = 2
    credit: str | None = None

    def __post_init__(self):
        self.recording = self.recording or self.id


def _group(stem: str) -> str:
    """The recording a file belongs to: its name without a trailing take number (``bird2_03`` -> ``bird2``)."""
    return re.sub(r"[_-]?\d+$", "", stem) or stem


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _first_line(path: Path) -> str | None:
    """The English description of a Tux Paint stamp (first line of its .txt), or None."""
    if not path.exists():
        return None
    line = path.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
    return line[0].strip() if line and line[0].strip() else None


def _table_items(package: str, folder: Path, table: dict, suffixes: tuple[str, ...], describe: bool = False):
    """Items for the files of one package named in ``table`` (missing files are skipped)."""
    items = []
    for rel, (label, subject) in table.items():
        path = next((folder / (rel + s) for s in suffixes if (folder / (rel + s)).exists()), None)
        if path is None:
            continue
        stem = _slug(Path(rel).name)
        items.append(
            Item(
                id=f"{_slug(package.split('-')[0])}-{stem}",
                label=label,
                source=package,
                files=(path,),
                recording=f"{package}:{_group(rel)}",
                subject=subject,
                description=_first_line(path.with_suffix(".txt")) if describe else None,
            )
        )
    return items


def read_cat(path: Path) -> list[tuple[str, bytes]]:
    """Read an OpenTTD ``.cat`` sound archive: ``[(name, wav bytes), ...]``.

    The file starts with a table of little-endian ``(offset, size)`` uint32 pairs (the top bit of an offset is a
    flag; the first offset / 8 is the entry count). Each entry is a length-prefixed, NUL-terminated name (which
    carries the credit) followed by a RIFF/WAV file; ``size`` covers both.
    """
    data = path.read_bytes()
    count = (struct.unpack_from("<I", data, 0)[0] & 0x7FFFFFFF) // 8
    entries = []
    for index in range(count):
        offset, size = struct.unpack_from("<II", data, 8 * index)
        offset &= 0x7FFFFFFF
        name_len = data[offset]
        name = data[offset + 1 : offset + 1 + name_len].rstrip(b"\0").decode("utf-8", errors="replace")
        entries.append((name, data[offset + 1 + name_len : offset + size]))
    return entries


def opensfx_items(root: Path, cache: Path) -> list[Item]:
    """Items of the allow-listed OpenSFX entries (each extracted once to ``cache/opensfx``)."""
    entries = read_cat(root / "usr/share/games/openttd/baseset/opensfx/opensfx.cat")
    out_dir = cache / "opensfx"
    out_dir.mkdir(parents=True, exist_ok=True)
    items = []
    for index, (label, subject, group) in OPENSFX.items():
        name, wav = entries[index]
        title = name.split('"')[1] if name.count('"') >= 2 else name
        path = out_dir / f"{index:02d}.wav"
        if not path.exists():
            path.write_bytes(wav)
        items.append(
            Item(
                id=f"opensfx-{index:02d}-{_slug(title)[:30]}",
                label=label,
                source="openttd-opensfx",
                files=(path,),
                recording=f"opensfx:{group or index}",
                subject=subject,
                credit=name,
            )
        )
    return items


def recorded_items(roots: dict[str, Path], cache: Path) -> list[Item]:
    """All allow-listed recordings of the recorded-sound packages (not speech, soundfonts or drum kits)."""
    items = _table_items(
        "tuxpaint-stamps-default",
        roots["tuxpaint-stamps-default"] / "usr/share/tuxpaint/stamps",
        TUXPAINT,
        (".ogg",),
        describe=True,
    )
    items += _table_items(
        "widelands-data", roots["widelands-data"] / "usr/share/games/widelands/data", WIDELANDS, (".ogg",)
    )
    items += _table_items(
        "lincity-ng-data", roots["lincity-ng-data"] / "usr/share/games/lincity-ng/sounds", LINCITY, (".wav",)
    )
    items += _table_items(
        "sonic-pi-samples",
        roots["sonic-pi-samples"] / "usr/share/sonic-pi/samples",
        SONIC_PI,
        (".flac", ".wav"),
    )
    hedgewars = roots["hedgewars-data"] / "usr/share/games/hedgewars/Data"
    items += _table_items("hedgewars-data", hedgewars / "Sounds", HEDGEWARS, (".ogg",))
    for laugh in sorted((hedgewars / "Sounds/voices").glob("*/Laugh.ogg")):
        pack = laugh.parent.name
        items.append(
            Item(
                id=f"hedgewars-laugh-{_slug(pack)}", label="laughter", source="hedgewars-data", files=(laugh,)
            )
        )
    for package, (folder, table) in SMALL_PACKS.items():
        items += _table_items(package, roots[package] / folder, table, (".ogg", ".oga"))
    items += opensfx_items(roots["openttd-opensfx"], cache)
    for package, (folder, pattern) in MUSIC.items():
        for track in sorted((roots[package] / folder).glob(pattern)):
            items.append(
                Item(
                    id=f"{_slug(package.split('-')[0])}-music-{_slug(track.stem)}",
                    label="music",
                    source=package,
                    files=(track,),
                    max_segments=MUSIC_SEGMENTS,
                )
            )
    return items
