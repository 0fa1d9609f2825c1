"""Tests of the offline corpus builder's pure parts (recipes/corpus); nothing here needs apt or the network."""

import io
import shutil
import struct
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "recipes"))

from corpus import allowlist, curate, drumkits, labels, noise, render, soundfonts, sources, wordings

SR = 16000


def _wav_bytes(wave: np.ndarray, sample_rate: int = 22050) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, wave, sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def test_read_cat_parses_a_synthetic_archive(tmp_path):
    waves = [np.sin(np.linspace(0, 200, 2205)).astype(np.float32) * 0.5, np.zeros(1000, np.float32)]
    names = [b'"Cow". By Someone. License: CC0.\x00', b'"Wind". By Anton.\x00']
    bodies = [bytes([len(name)]) + name + _wav_bytes(wave) for name, wave in zip(names, waves)]
    offset, table = 8 * len(bodies), b""
    for k, body in enumerate(bodies):
        flag = 0x80000000 if k == 1 else 0  # the top bit is a flag and must be masked
        table += struct.pack("<II", (offset | flag), len(body))
        offset += len(body)
    path = tmp_path / "test.cat"
    path.write_bytes(table + b"".join(bodies))

    entries = sources.read_cat(path)

    assert [name for name, _ in entries] == ['"Cow". By Someone. License: CC0.', '"Wind". By Anton.']
    decoded, rate = sf.read(io.BytesIO(entries[0][1]), dtype="float32")
    assert rate == 22050 and np.allclose(decoded, waves[0], atol=1e-3)
    assert len(sf.read(io.BytesIO(entries[1][1]))[0]) == 1000


def test_every_allow_list_entry_names_a_known_class_and_subject():
    tables = [
        allowlist.TUXPAINT,
        allowlist.WIDELANDS,
        allowlist.LINCITY,
        allowlist.SONIC_PI,
        allowlist.HEDGEWARS,
    ]
    tables += [table for _, table in allowlist.SMALL_PACKS.values()]
    pairs = [pair for table in tables for pair in table.values()]
    pairs += [(label, subject) for label, subject, _ in allowlist.OPENSFX.values()]
    pairs += [(p.label, p.subject) for p in soundfonts.PRESETS]
    for label, subject in pairs:
        assert label in labels.CLASSES, label
        assert subject is None or subject in labels.SUBJECTS, subject
    assert 25 <= len(labels.CLASSES) <= 40


def test_table_items_keep_only_listed_files_with_description_and_group(tmp_path):
    folder = tmp_path / "stamps"
    for rel in ["animals/mammals/dogs/dog", "animals/birds/drake", "animals/mammals/wolf-hit"]:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / f"{rel}.ogg").write_bytes(b"")
    (folder / "animals/mammals/dogs/dog.txt").write_text("A dog.\nfr.utf8=Un chien.\n")
    table = {
        "animals/mammals/dogs/dog": ("dog", None),
        "animals/birds/drake": ("farm_animal", "duck"),
        "animals/birds/missing": ("birds", None),
    }

    items = sources._table_items("tuxpaint-stamps-default", folder, table, (".ogg",), describe=True)

    by_id = {item.id: item for item in items}
    assert set(by_id) == {"tuxpaint-dog", "tuxpaint-drake"}  # wolf-hit is not listed, missing is skipped
    assert by_id["tuxpaint-dog"].description == "A dog."
    assert by_id["tuxpaint-drake"].label == "farm_animal" and by_id["tuxpaint-drake"].subject == "duck"
    assert sources._group("sound/animals/bird2_03") == sources._group("sound/animals/bird2_00")
    assert sources._group("TraficHigh3") == "TraficHigh"


def test_captions_are_varied_reproducible_and_never_use_held_out_phrasings():
    first = labels.captions_for("clip-1", "farm_animal", "cow", "A brown cow.", seed=0)
    assert first == labels.captions_for("clip-1", "farm_animal", "cow", "A brown cow.", seed=0)
    assert len(first) == 5 and len(set(first)) == 5
    assert first[0] == "the sound of a brown cow"
    assert any(c in labels.SUBJECTS["cow"].train for c in first)
    assert any(c in labels.CLASSES["farm_animal"].train for c in first)
    variants = {tuple(labels.captions_for(f"clip-{k}", "dog", seed=0)) for k in range(20)}
    assert len(variants) > 5

    train = {p for table in (labels.CLASSES, labels.SUBJECTS) for ph in table.values() for p in ph.train}
    held_out = {
        p for table in (labels.CLASSES, labels.SUBJECTS) for ph in table.values() for p in ph.held_out
    }
    assert not train & held_out
    assert set(labels.paraphrases_for("farm_animal", "cow")) <= held_out


def test_every_class_has_every_wording_family_and_clips_train_with_each():
    """Guards against a class added without query wordings, or training captions that lose a family."""
    assert set(wordings.WORDS) == set(labels.CLASSES)
    for label in labels.CLASSES:
        assert all(wordings.families(label)[family] for family in wordings.FAMILIES), label
    item = {"label": "dog", "subject": None, "description": None}
    captions = curate.clip_captions("clip-7", item, seed=0)
    assert captions == curate.clip_captions("clip-7", item, seed=0)
    dog = wordings.families("dog")
    for family in wordings.FAMILIES:
        assert set(captions) & set(dog[family]), family
    assert "cow" in wordings.families("farm_animal", "cow")["word"]
    assert wordings.families("speech_female")["instruction"][0] == "isolate the speech"


def test_generated_noise_has_its_colour_and_level():
    """Guards the noise source: pink falls ~3 dB per octave, brown ~6 dB, white is flat; RMS 0.1."""
    rng = np.random.default_rng(0)
    slopes = {}
    for kind in ("white", "pink", "brown"):
        wave = noise.coloured_noise(rng, noise.KINDS[kind][1], 64000)
        power = np.abs(np.fft.rfft(wave)) ** 2
        freqs = np.fft.rfftfreq(len(wave), 1 / noise.SAMPLE_RATE)
        low, high = power[(freqs > 250) & (freqs < 500)].mean(), power[(freqs > 2000) & (freqs < 4000)].mean()
        slopes[kind] = 10 * np.log10(high / low) / 3  # dB per octave over 3 octaves
    assert slopes["white"] == pytest.approx(0.0, abs=0.5)
    assert slopes["pink"] == pytest.approx(-3.0, abs=0.5)
    assert slopes["brown"] == pytest.approx(-6.0, abs=0.5)
    assert np.sqrt(np.mean(noise.noise_wave("hum", rng) ** 2)) == pytest.approx(0.1)


def test_condition_removes_dc_and_keeps_the_full_band():
    t = np.arange(SR) / SR
    wave = (0.3 + 0.2 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 7000 * t)).astype(np.float32)
    out = render.condition(wave)[2000:-2000]
    spectrum = np.abs(np.fft.rfft(out))
    freqs = np.fft.rfftfreq(len(out), 1 / SR)
    assert abs(out.mean()) < 1e-3
    high, low = spectrum[np.argmin(abs(freqs - 7000))], spectrum[np.argmin(abs(freqs - 440))]
    assert high == pytest.approx(low, rel=0.02)  # equal tones stay equal: nothing above 5 kHz is cut


def test_trim_active_fraction_repeat_segments_and_normalize():
    rng = np.random.default_rng(0)
    event = (0.5 * rng.standard_normal(SR // 2)).astype(np.float32)
    padded = np.concatenate([np.zeros(SR), event, np.zeros(SR)])
    trimmed = render.trim(padded)
    assert 0.5 * SR <= len(trimmed) <= 0.7 * SR
    assert render.active_fraction(padded) == pytest.approx(0.2, abs=0.02)  # 0.5 s of 2.5 s

    import random

    repeated = render.repeat_event(event, random.Random(0))
    assert len(repeated) >= render.REPEAT_TO * SR and render.active_fraction(repeated) > 0.5

    long = rng.standard_normal(35 * SR).astype(np.float32)
    segments = render.split_segments(long, max_segments=3)
    assert len(segments) == 3 and all(len(s) == 10 * SR for s in segments)
    assert len(render.split_segments(long[: 8 * SR], max_segments=3)) == 1

    normalized = render.normalize(0.01 * long[: 4 * SR])
    from flowsep.audio import loudness_lufs

    assert loudness_lufs(normalized, SR) == pytest.approx(-23.0, abs=0.5)
    assert np.abs(normalized).max() <= render.PEAK_CEILING + 1e-6


def _noise_event(rng, seconds=4.0, color=0.0):
    """Noise with a random envelope, optionally low-passed (``color``), to look like a recording."""
    n = int(seconds * SR)
    envelope = np.repeat(rng.uniform(0.1, 1.0, n // 800 + 1), 800)[:n]
    noise = rng.standard_normal(n)
    if color:
        noise = np.convolve(noise, np.ones(int(color)) / color, mode="same")
    return (noise * envelope).astype(np.float32)


def test_dedup_finds_reencoded_shifted_copies_but_not_similar_sounds():
    rng = np.random.default_rng(0)
    original = _noise_event(rng)
    copy = 0.4 * np.concatenate([np.zeros(int(0.2 * SR), np.float32), original])  # quieter, 0.2 s later
    copy = copy + 0.002 * rng.standard_normal(len(copy)).astype(np.float32)  # re-encoding noise
    same_kind = _noise_event(np.random.default_rng(1))  # another "rain" with the same spectrum
    low = _noise_event(np.random.default_rng(2), color=8)
    short_a = np.concatenate([_noise_event(np.random.default_rng(3), 1.0), np.zeros(2 * SR, np.float32)])
    short_b = np.concatenate(
        [_noise_event(np.random.default_rng(4), 1.0, color=4), np.zeros(2 * SR, np.float32)]
    )
    waves = [original, same_kind, low, copy, short_a, short_b]

    twins = curate.find_duplicates(np.stack([curate.fingerprint(w) for w in waves]))

    assert twins == {3: 0}


def test_split_keeps_every_recording_in_one_split_and_follows_the_shares():
    rng = np.random.default_rng(0)
    rows = []
    for label, n_recordings in [("music", 60), ("dog", 2), ("rain", 1), ("door", 4)]:
        for r in range(n_recordings):
            for k in range(int(rng.integers(1, 5))):
                rows.append(
                    {
                        "labels": [label],
                        "recording": f"{label}-{r}",
                        "subject": None,
                        "id": f"{label}-{r}-{k}",
                    }
                )

    curate.assign_splits(rows, seed=0)

    splits_of = defaultdict(set)
    for row in rows:
        splits_of[row["recording"]].add(row["split"])
    assert all(len(s) == 1 for s in splits_of.values())
    music = Counter(r["split"] for r in rows if r["labels"][0] == "music")
    assert music["train"] / sum(music.values()) == pytest.approx(0.8, abs=0.06)
    assert music["valid"] and music["test"]
    assert {r["split"] for r in rows if r["labels"][0] == "rain"} == {"train"}
    assert {r["split"] for r in rows if r["labels"][0] == "dog"} == {"train", "test"}
    assert all("paraphrase_captions" in r for r in rows if r["split"] != "train")
    assert all(set(r["query_wordings"]) == set(wordings.FAMILIES) for r in rows if r["split"] != "train")
    again = [dict(r) for r in rows]
    curate.assign_splits(again, seed=0)
    assert [r["split"] for r in again] == [r["split"] for r in rows]


def test_withheld_packages_form_the_cross_source_split_only():
    """Guards against a withheld package leaking into train/valid, or the split by recording using it."""
    rows = [
        {
            "labels": ["music"],
            "recording": f"{source}-{r}",
            "subject": None,
            "id": f"{source}-{r}",
            "source": source,
        }
        for source in ("kept-a", "kept-b", "held-out")
        for r in range(10)
    ]
    curate.assign_splits(rows, seed=0, withheld=("held-out",))
    splits = {
        source: Counter(r["split"] for r in rows if r["source"] == source)
        for source in ("kept-a", "held-out")
    }
    assert splits["held-out"] == {curate.CROSS_SOURCE_SPLIT: 10}
    assert set(splits["kept-a"]) <= set(curate.SPLITS) and sum(splits["kept-a"].values()) == 10
    assert all("paraphrase_captions" in r for r in rows if r["source"] == "held-out")


def test_midi_writer_and_slot_events():
    assert soundfonts._varlen(0) == b"\x00"
    assert soundfonts._varlen(0x80) == b"\x81\x00"
    assert soundfonts._varlen(0x3FFF) == b"\xff\x7f"
    import random

    preset = soundfonts.Preset("dog", None, 1, 123, "hits", spacing=0.35)
    events = soundfonts.slot_events(preset, 8.0, random.Random(0))
    data = soundfonts.midi_bytes(events)
    assert data[:4] == b"MThd" and data[14:18] == b"MTrk"
    assert struct.unpack(">I", data[18:22])[0] == len(data) - 22
    assert data.endswith(b"\xff\x2f\x00")
    note_ons = [e for e in events if e[2][0] == 0x90]
    assert len(note_ons) >= 8 and all(8.0 <= t < 8.0 + soundfonts.NOTES_SECONDS for t, _, _ in note_ons)
    assert max(t for t, _, _ in events) == pytest.approx(8.0 + soundfonts.CLIP_SECONDS)


def test_drum_roles_follow_file_names(tmp_path):
    import random

    names = [
        "BD_01.aiff",
        "Snare 1.flac",
        "hihat-closed-1.flac",
        "hhopen_01.flac",
        "tom1_1.flac",
        "crash.flac",
    ]
    files = [tmp_path / n for n in names]
    roles = drumkits.assign_roles(files, random.Random(0))
    assert roles["kick"] == [files[0]] and roles["snare"] == [files[1]] and roles["crash"] == [files[5]]
    assert files[2] in roles["hat"] and roles["open_hat"] == [files[3]] and roles["tom"] == [files[4]]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get")
def test_fetch_unpacks_a_small_package(tmp_path):
    from corpus import fetch

    roots = fetch.fetch_packages(tmp_path, ["sound-theme-freedesktop"])
    assert list(roots["sound-theme-freedesktop"].rglob("bell.oga"))
    assert fetch.package_versions(tmp_path)["sound-theme-freedesktop"]
