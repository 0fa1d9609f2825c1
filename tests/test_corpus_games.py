"""Corpus builder, issue 20's packages: allow-lists, DEP-5 credits, archive readers and take grouping."""

import sys
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "recipes"))

from corpus import archives, credits, fetch, games, labels  # noqa: E402
from corpus.allowlist_games import GAME_EFFECTS, GAME_MUSIC  # noqa: E402
from corpus.allowlist_voices import GAME_VOICES  # noqa: E402


def test_every_game_entry_names_a_known_class_subject_and_package():
    for package, (_, table) in GAME_EFFECTS.items():
        assert package in fetch.PACKAGES, package
        for label, subject in table.values():
            assert label in labels.CLASSES, label
            assert subject is None or subject in labels.SUBJECTS, subject
    for package, speakers in GAME_VOICES.items():
        assert package in fetch.PACKAGES
        assert all(label in ("speech_male", "speech_female") and names for _, label, _, names in speakers)
    assert set(GAME_MUSIC) <= set(fetch.PACKAGES)
    assert "neverball-data" not in fetch.PACKAGES and "pioneers-data" not in fetch.PACKAGES


COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: game

Files: *
Copyright: 2010 Game Team
License: GPL-2+

Files: data/sfx/cow.ogg
 data/data.zip/sounds/*
Copyright: Someone
 Someone Else
License: CC0

Files: debian/*
Copyright: 2020 A Packager
License: GPL-2+

License: GPL-2+
 The licence text.
"""


def test_credits_take_the_last_matching_stanza_of_the_installed_path(tmp_path):
    path = tmp_path / "copyright"
    path.write_text(COPYRIGHT)
    stanzas = credits.read_stanzas(path)
    assert [s.license for s in stanzas] == ["GPL-2+", "CC0", "GPL-2+"]
    cow = credits.credit_for(stanzas, "usr/share/games/game/data/sfx/cow.ogg")
    assert cow == "data/sfx/cow.ogg: Someone; Someone Else (CC0)"
    member = credits.credit_for(stanzas, "usr/share/games/game/data.zip/sounds/bang.wav")
    assert member.startswith("data/data.zip/sounds/*: Someone")  # the glob's first folder may be missing
    assert credits.credit_for(stanzas, "usr/share/games/game/music/a.ogg") == "*: 2010 Game Team (GPL-2+)"
    assert credits.read_stanzas(tmp_path / "missing") == []


def _tone(path: Path, seconds: float, rate: int = 22050) -> None:
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)


def test_archive_audio_is_extracted_once_with_member_paths(tmp_path):
    _tone(tmp_path / "a.wav", 0.2)
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(tmp_path / "a.wav", "sounds/a.wav")
        zipped.writestr("textures/t.png", b"png")
    out = archives.extract_audio(archive, tmp_path / "out")
    assert (out / "sounds/a.wav").exists() and not (out / "textures").exists()
    (out / "sounds/a.wav").unlink()
    archives.extract_audio(archive, tmp_path / "out")  # done: not extracted again
    assert not (out / "sounds/a.wav").exists()


def test_short_takes_are_joined_and_long_files_stand_alone(tmp_path):
    paths = []
    for name, seconds in [("a_01", 1.0), ("a_02", 1.5), ("a_03", 5.0), ("a_04", 1.0), ("a_05", 0.8)]:
        paths.append(tmp_path / f"{name}.wav")
        _tone(paths[-1], seconds)
    assert games._chunks(paths) == [paths[2:3], paths[:2] + paths[3:]]  # 5 s alone, 4.3 s of takes joined
    builder = games._Builder.__new__(games._Builder)
    builder.package, builder.base, builder.short, builder.stanzas = "game-data", tmp_path, "game", []
    items = games.effect_items(builder, "", {p.stem: ("hammering", None) for p in paths})
    assert {item.recording for item in items} == {"game-data:a"}
    assert len({item.id for item in items}) == len(items)
    assert sum(len(item.files) for item in items) == len(paths)
