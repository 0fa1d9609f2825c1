"""Items of issue 20's game and desktop packages: effects, recorded speech and music tracks.

Short takes of one sound (``mine_metal_01``, ``mine_metal_02`` ...) are joined into groups of a few seconds
that share a ``recording``; a speaker's voice lines likewise. Each item's credit is the per-file stanza of its
package's DEP-5 copyright file (:mod:`credits`), where the package has one.
"""

from __future__ import annotations

import math
from pathlib import Path

import soundfile as sf

from . import archives
from .allowlist_games import GAME_EFFECTS, GAME_MUSIC
from .allowlist_voices import GAME_VOICES
from .credits import credit_for, package_stanzas
from .sources import Item, _group, _slug

ARCHIVES = {  # package -> zip archive (inside the package) that holds its audio
    "0ad-data": "usr/share/games/0ad/mods/public/public.zip",
    "warzone2100-data": "usr/share/games/warzone2100/base.wz",
    "trigger-rally-data": "usr/share/games/trigger-rally/data.zip",
}
WAVPACK = {"teeworlds-data": "usr/share/games/teeworlds/data/audio"}  # package -> folder of .wv files
SUFFIXES = (".ogg", ".wav", ".oga", ".flac")
JOIN_BELOW, JOIN_UP_TO = 2.0, 8.0  # seconds: takes shorter than this are joined, up to this much per item
LONG_SEGMENTS = 12  # clips a long ambience may give (evenly spread over it)
MUSIC_SECONDS_PER_CLIP, MUSIC_MAX_CLIPS = 15.0, 16  # a music track gives one 10 s clip per 15 s, at most 16


def media_root(package: str, root: Path, cache: Path) -> Path:
    """The folder that the allow-list paths of ``package`` start from (archives extracted, .wv decoded)."""
    if package in ARCHIVES:
        return archives.extract_audio(root / ARCHIVES[package], cache / "archives" / package)
    if package in WAVPACK:
        return archives.decode_wavpack(root / WAVPACK[package], cache / "decoded" / package)
    return root


def installed_path(package: str, rel: str) -> str:
    """A media file's path as the package's copyright file names it (archive members under the archive)."""
    if package in ARCHIVES:
        return f"{ARCHIVES[package]}/{rel}"
    if package in WAVPACK:
        return f"{WAVPACK[package]}/{Path(rel).with_suffix('.wv')}"
    return rel


def _find(folder: Path, rel: str) -> Path | None:
    return next((folder / (rel + s) for s in SUFFIXES if (folder / (rel + s)).exists()), None)


def _chunks(paths: list[Path]) -> list[list[Path]]:
    """Consecutive short takes joined into lists of up to :data:`JOIN_UP_TO` seconds; long files alone."""
    chunks, current, total = [], [], 0.0
    for path in paths:
        seconds = sf.info(str(path)).duration
        if seconds >= JOIN_BELOW:
            chunks.append([path])
            continue
        if current and total + seconds > JOIN_UP_TO:
            chunks.append(current)
            current, total = [], 0.0
        current.append(path)
        total += seconds
    return chunks + ([current] if current else [])


class _Builder:
    """Turns groups of files of one package into items with ids, recordings and credits."""

    def __init__(self, package: str, root: Path, cache: Path):
        self.package, self.base = package, media_root(package, root, cache)
        self.short = _slug(package.removesuffix("-data"))
        self.stanzas = package_stanzas(root, package)

    def credit(self, paths: list[Path]) -> str | None:
        found = [
            credit_for(self.stanzas, installed_path(self.package, str(p.relative_to(self.base))))
            for p in paths
        ]
        return "; ".join(dict.fromkeys(c for c in found if c)) or None

    def items(
        self, name: str, label: str, subject: str | None, paths: list[Path], recording: str
    ) -> list[Item]:
        chunks = _chunks(paths)
        return [
            Item(
                id=f"{self.short}-{_slug(name)}" + (f"-{k}" if len(chunks) > 1 else ""),
                label=label,
                source=self.package,
                files=tuple(chunk),
                recording=f"{self.package}:{recording}",
                subject=subject,
                max_segments=LONG_SEGMENTS if len(chunk) == 1 else 2,
                credit=self.credit(chunk),
            )
            for k, chunk in enumerate(chunks)
        ]


def effect_items(builder: _Builder, folder: str, table: dict) -> list[Item]:
    """Items of one package's allow-listed effects: the takes of each sound grouped, missing files skipped."""
    groups: dict[tuple, list[Path]] = {}
    for rel, (label, subject) in table.items():
        path = _find(builder.base / folder, rel)
        if path is not None:
            groups.setdefault((_group(rel), label, subject), []).append(path)
    items = []
    for (group, label, subject), paths in groups.items():
        items += builder.items(group, label, subject, paths, recording=group)
    return items


def voice_items(builder: _Builder, speakers: list) -> list[Item]:
    """Items of one package's speakers: each speaker's lines joined into utterance groups, one recording."""
    lines: dict[tuple[str, str], list[Path]] = {}
    for speaker, label, folder, names in speakers:
        found = (_find(builder.base / folder, name) for name in names)
        lines.setdefault((speaker, label), []).extend(p for p in found if p is not None)
    items = []
    for (speaker, label), paths in lines.items():
        items += builder.items(f"voice-{speaker}", label, None, paths, recording=f"voice-{speaker}")
    return items


def music_items(builder: _Builder, folder: str, globs: tuple[str, ...]) -> list[Item]:
    """One item per music track, one clip per :data:`MUSIC_SECONDS_PER_CLIP` of the track."""
    tracks = sorted({track for pattern in globs for track in (builder.base / folder).glob(pattern)})
    items = []
    for track in tracks:
        seconds = sf.info(str(track)).duration
        clips = min(MUSIC_MAX_CLIPS, max(1, math.floor(seconds / MUSIC_SECONDS_PER_CLIP)))
        item = builder.items(f"music-{track.parent.name}-{track.stem}", "music", None, [track], track.stem)[0]
        item.max_segments = clips
        items.append(item)
    return items


def game_items(roots: dict[str, Path], cache: Path) -> list[Item]:
    """Every allow-listed item of issue 20's packages."""
    items, builders = [], {}
    for package in dict.fromkeys([*GAME_EFFECTS, *GAME_VOICES, *GAME_MUSIC]):
        builders[package] = _Builder(package, roots[package], cache)
    for package, (folder, table) in GAME_EFFECTS.items():
        items += effect_items(builders[package], folder, table)
    for package, speakers in GAME_VOICES.items():
        items += voice_items(builders[package], speakers)
    for package, (folder, globs) in GAME_MUSIC.items():
        items += music_items(builders[package], folder, globs)
    return items
