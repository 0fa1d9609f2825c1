"""flowsep.data: manifests, dataset readers, clip datasets and on-the-fly mixing."""

import json

import numpy as np
import pytest
import soundfile as sf
import torch
from torch.utils.data import DataLoader

from flowsep.audio import loudness_lufs, snr_db
from flowsep.cli import main as cli_main
from flowsep.data import (
    ClipDataset,
    ClipRecord,
    ManifestError,
    MixtureDataset,
    build_manifest,
    caption_keywords,
    collate_batch,
    compatible,
    filter_split,
    read_manifest,
    write_manifest,
)
from flowsep.data.datasets import class_balance_weights
from flowsep.data.readers import (
    read_audiocaps,
    read_clotho,
    read_dcase2024_task9,
    read_vggsound,
    read_wavcaps,
)
from flowsep.training.data import EpochSampler

RATE = 16000
CLASSES = {  # label: (caption, signal maker)
    "dog": ("a dog barks twice", lambda t, k: np.sin(2 * np.pi * (300 + 20 * k) * t)),
    "bell": ("a church bell rings", lambda t, k: np.sin(2 * np.pi * (900 + 30 * k) * t) * np.exp(-2 * t)),
    "engine": ("an engine idles", lambda t, k: np.random.default_rng(k).standard_normal(t.size) * 0.3),
    "bird": (
        "birds chirping in trees",
        lambda t, k: np.sin(2 * np.pi * (2500 + 500 * np.sin(9 * t + k)) * t),
    ),
    "rain": (
        "rain falls on a roof",
        lambda t, k: np.random.default_rng(50 + k).uniform(-1, 1, t.size) * (t % 0.25 < 0.1),
    ),
}


def write_wave(path, seconds=1.0, rate=RATE, maker=CLASSES["dog"][1], k=0, gain=0.5):
    t = np.arange(int(seconds * rate)) / rate
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, (gain * maker(t, k)).astype(np.float32), rate)
    return path


def make_corpus(root, per_class=2, labelled=True, seconds=1.0):
    """``per_class`` clips of each class under root/audio; returns their records (train split)."""
    records = []
    for label, (caption, maker) in CLASSES.items():
        for k in range(per_class):
            path = write_wave(root / "audio" / f"{label}{k}.wav", seconds, maker=maker, k=k)
            records.append(
                ClipRecord(
                    f"{label}{k}",
                    str(path),
                    [caption, f"{label} sound {k}"],
                    [label] if labelled else [],
                    duration=seconds,
                    split="train",
                )
            )
    return records


@pytest.fixture
def corpus(tmp_path):
    return make_corpus(tmp_path)


def mixtures(records, seed=0, **options):
    return MixtureDataset(ClipDataset(records, sample_rate=8000, segment_seconds=0.5, seed=seed), **options)


# ---------------------------------------------------------------- manifests


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_manifest_round_trip(tmp_path, corpus, suffix):
    corpus[0].extra = {"start_time": "30"}
    corpus[1].split, corpus[1].duration, corpus[1].labels = None, None, []
    path = write_manifest(corpus, tmp_path / f"manifest{suffix}")
    assert read_manifest(path) == corpus
    assert "audio/dog0.wav" in path.read_text() and str(tmp_path) not in path.read_text()  # relative paths
    assert [r.id for r in read_manifest(path, split="train")] == [r.id for r in corpus if r.split == "train"]


def test_csv_manifest_accepts_pipe_separated_and_json_lists(tmp_path, corpus):
    (tmp_path / "m.csv").write_text(
        "id,audio,captions,labels,split\n"
        'a,audio/dog0.wav,a dog barks|barking,"[""dog"", ""animal""]",valid\n'
        'b,audio/bell0.wav,"[""a bell, ringing""]",bell,test\n'
    )
    a, b = read_manifest(tmp_path / "m.csv")
    assert a.captions == ["a dog barks", "barking"] and a.labels == ["dog", "animal"]
    assert b.captions == ["a bell, ringing"] and b.labels == ["bell"]
    assert a.audio == str(tmp_path / "audio" / "dog0.wav")
    assert [r.id for r in filter_split([a, b], "test")] == ["b"]


def test_bad_manifest_rows_are_named_by_line(tmp_path):
    good = {"id": "x", "audio": "x.wav", "captions": ["c"]}
    lines = [good, {"id": "y", "audio": "y.wav"}, "{not json", good, {**good, "id": "z", "split": "dev"}]
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    with pytest.raises(ManifestError) as info:
        read_manifest(path)
    message = str(info.value)
    assert "4 bad row(s)" in message and f"{path}:1:" not in message
    assert f"{path}:2: needs at least one non-empty caption" in message
    assert f"{path}:3: not valid JSON" in message
    assert f"{path}:4: duplicate id 'x' (first on line 1)" in message
    assert f"{path}:5: 'split' must be one of" in message
    (tmp_path / "m.csv").write_text("id,audio,captions,duration\nx,x.wav,c,4\ny,,c,2\nz,z.wav,c,-1\n")
    with pytest.raises(
        ManifestError, match=r"m.csv:3: missing or empty 'audio'(.|\n)*m.csv:4: 'duration' must be"
    ):
        read_manifest(tmp_path / "m.csv")


# ---------------------------------------------------------------- readers


def test_audiocaps_reader_merges_captions_and_counts_missing_audio(tmp_path):
    header = "audiocap_id,youtube_id,start_time,caption\n"
    (tmp_path / "train.csv").write_text(header + "1,abc,30,a dog barks\n2,def,0,a car passes\n")
    (tmp_path / "val.csv").write_text(
        header + '3,ghi,10,"rain, then thunder"\n4,ghi,10,a storm\n5,gone,0,x\n'
    )
    for name in ("audio/train/abc.wav", "audio/train/Ydef.flac", "audio/val/ghi_10.wav"):
        write_wave(tmp_path / name, 0.1)
    with pytest.warns(UserWarning, match="audiocaps: skipped 1 of 4 clips"):
        records = {r.id: r for r in read_audiocaps(tmp_path)}
    assert sorted(records) == ["audiocaps-abc", "audiocaps-def", "audiocaps-ghi"]
    assert records["audiocaps-ghi"].captions == ["rain, then thunder", "a storm"]
    assert records["audiocaps-ghi"].split == "valid" and records["audiocaps-abc"].split == "train"
    assert records["audiocaps-def"].audio.endswith("Ydef.flac")


def test_clotho_reader_and_build_manifest(tmp_path):
    header = "file_name,caption_1,caption_2,caption_3,caption_4,caption_5\n"
    (tmp_path / "clotho_captions_development.csv").write_text(header + "Rain on tin.wav,r1,r2,r3,r4,r5\n")
    (tmp_path / "clotho_captions_evaluation.csv").write_text(header + "birds.wav,b1,b2,b3,b4,b5\n")
    write_wave(tmp_path / "development" / "Rain on tin.wav", 0.1)
    write_wave(
        tmp_path / "development" / "birds.wav", 0.1
    )  # same name in another split: the split folder wins
    write_wave(tmp_path / "evaluation" / "birds.wav", 0.1)
    records = read_clotho(tmp_path)
    assert [(r.id, r.split, len(r.captions)) for r in records] == [
        ("clotho-Rain on tin", "train", 5),
        ("clotho-birds", "test", 5),
    ]
    assert "evaluation" in records[1].audio
    out = build_manifest("clotho", tmp_path, tmp_path / "clotho.jsonl")
    assert read_manifest(out) == records
    assert cli_main(["build-manifest", "clotho", str(tmp_path), str(tmp_path / "clotho.csv")]) == 0
    assert read_manifest(tmp_path / "clotho.csv") == records
    with pytest.raises(ManifestError, match="unknown dataset kind"):
        build_manifest("audioset", tmp_path, tmp_path / "x.jsonl")


def test_wavcaps_vggsound_and_dcase_readers(tmp_path):
    entries = [
        {"id": "Y1.wav", "caption": "speech", "audio": "wav_path", "duration": 10.0},
        {"id": "Y2.wav", "caption": "music", "audio": "wav_path", "duration": 12.0},
    ]
    (tmp_path / "json_files" / "AudioSet_SL").mkdir(parents=True)
    (tmp_path / "json_files" / "AudioSet_SL" / "as_final.json").write_text(json.dumps({"data": entries}))
    write_wave(tmp_path / "AudioSet_SL_flac" / "Y1.flac", 0.1)
    write_wave(tmp_path / "AudioSet_SL_flac" / "Y2.flac", 0.1)
    assert [(r.id, r.duration) for r in read_wavcaps(tmp_path)] == [("wavcaps-AudioSet_SL-Y1", 10.0)]

    (tmp_path / "vggsound.csv").write_text('abc,30,"dog barking",train\nxyz,5,"people marching",test\n')
    write_wave(tmp_path / "video" / "abc_000030.wav", 0.1)
    write_wave(tmp_path / "video" / "xyz_5.wav", 0.1)
    records = read_vggsound(tmp_path)
    assert [(r.id, r.captions, r.labels, r.split) for r in records] == [
        ("vggsound-abc_000030", ["dog barking"], ["dog barking"], "train"),
        ("vggsound-xyz_000005", ["people marching"], ["people marching"], "test"),
    ]

    dcase = tmp_path / "dcase"
    (dcase / "clotho_captions_development.csv").parent.mkdir()
    (dcase / "clotho_captions_development.csv").write_text("file_name,caption_1\nc.wav,wind blows\n")
    (dcase / "fsd50k_dev_auto_caption.json").write_text(
        json.dumps({"data": [{"wav": "64.wav", "caption": "a cat"}]})
    )
    (dcase / "lass_synthetic_validation.csv").write_text(
        "source,noise,snr,caption\ns1,n1,5,a bell\ns1,n2,0,a bell\n"
    )
    for name in (
        "development/c.wav",
        "FSD50K.dev_audio/64.wav",
        "lass_validation/s1.wav",
        "lass_validation/n1.wav",
    ):
        write_wave(dcase / name, 0.1)
    assert [(r.id, r.captions, r.split) for r in read_dcase2024_task9(dcase)] == [
        ("clotho-c", ["wind blows"], "train"),
        ("fsd50k-64", ["a cat"], "train"),
        ("lass-s1", ["a bell"], "valid"),
    ]


# ---------------------------------------------------------------- clip datasets


def test_clip_dataset_resamples_and_crops_reproducibly(tmp_path):
    records = make_corpus(tmp_path, per_class=1, seconds=2.0)
    train = ClipDataset(records, sample_rate=8000, segment_seconds=0.5, seed=3)
    item = train[2]
    assert item["audio"].shape == (4000,) and item["id"] == records[2].id and item["labels"] == ["engine"]
    assert torch.equal(item["audio"], ClipDataset(records, 8000, 0.5, seed=3)[2]["audio"])
    train.set_epoch(1)
    assert not torch.equal(item["audio"], train[2]["audio"])
    valid = ClipDataset(records, sample_rate=8000, segment_seconds=3.0, train=False)
    full = valid[2]["audio"]
    assert full.shape == (24000,) and full[16000:].abs().max() == 0 and full[:15000].abs().max() > 0.1


def test_corrupt_and_silent_files_are_skipped_and_counted(tmp_path, corpus):
    (tmp_path / "audio" / "corrupt.wav").write_bytes(b"RIFF\x00\x01garbage" * 50)
    silent = write_wave(tmp_path / "audio" / "silent.wav", 1.0, gain=0.0)
    bad = [
        ClipRecord("corrupt", str(tmp_path / "audio" / "corrupt.wav"), ["x"]),
        ClipRecord("silent", str(silent), ["y"]),
    ]
    clips = ClipDataset(bad + corpus, sample_rate=8000, segment_seconds=0.5)
    with pytest.warns(UserWarning, match="skipping") as caught:
        ids = [clips[i]["id"] for i in range(len(clips))]
    assert not {"corrupt", "silent"} & set(ids) and len(ids) == len(bad + corpus)
    assert clips.skipped == {"unreadable": 1, "silent": 1}
    assert any("corrupt.wav" in str(w.message) for w in caught) and any(
        "the segment is silent" in str(w.message) for w in caught
    )
    mixed = MixtureDataset(ClipDataset(bad + corpus, sample_rate=8000, segment_seconds=0.5))
    with pytest.warns(UserWarning, match="skipping"):
        items = [mixed[i] for i in range(len(mixed))]
    assert all(not {"corrupt", "silent"} & {item["id"], *item["interferer_ids"]} for item in items)
    assert mixed.clips.skipped["unreadable"] >= 1 and mixed.clips.skipped["silent"] >= 1


# ---------------------------------------------------------------- mixing


def test_keywords_and_compatibility():
    assert caption_keywords(["A dog is barking loudly", "Dogs bark"]) == {"dog", "bark"}
    dog = ClipRecord("a", "a.wav", ["a dog barks"], ["Dog"])
    assert not compatible(dog, ClipRecord("b", "b.wav", ["woof"], ["dog"]))
    assert compatible(dog, ClipRecord("c", "c.wav", ["a dog"], ["animal"]))  # both labelled: labels decide
    assert not compatible(dog, ClipRecord("d", "d.wav", ["barking in the distance"]))
    assert compatible(dog, ClipRecord("e", "e.wav", ["a bell rings"]))
    assert not compatible(dog, dog)


@pytest.mark.parametrize("labelled", [True, False])
def test_mixtures_share_no_class_and_hit_the_drawn_snr(tmp_path, labelled):
    records = make_corpus(tmp_path, labelled=labelled)
    by_id = {r.id: r for r in records}
    data = mixtures(records)
    snrs = []
    for epoch in range(4):
        data.set_epoch(epoch)
        for i in range(len(data)):
            item = data[i]
            target, (other,) = by_id[item["id"]], item["interferer_ids"]
            assert compatible(target, by_id[other])
            if labelled:
                assert not set(target.labels) & set(by_id[other].labels)
            else:
                assert not caption_keywords(target.captions) & caption_keywords(by_id[other].captions)
            assert item["caption"] in target.captions
            assert torch.equal(item["mixture"], item["target"] + item["interference"])
            assert abs(float(snr_db(item["target"], item["interference"])) - item["snr_db"]) < 0.1
            snrs.append(item["snr_db"])
    assert -15 <= min(snrs) < -5 and 5 < max(snrs) <= 15


def test_class_balance_draws_targets_and_interferers_per_class(tmp_path):
    """Guards class balancing: with power 1 a class of six clips comes up as often as a class of one, as target
    (the sampler's draws) and as interferer; power 0 keeps every clip alike (no weights)."""
    records = make_corpus(tmp_path, per_class=1)
    for k in range(5):
        path = write_wave(tmp_path / f"dog-extra{k}.wav", k=k + 5)
        records.append(ClipRecord(f"dog-extra{k}", str(path), ["a dog"], ["dog"], split="train"))
    label_of = {record.id: record.labels[0] for record in records}
    assert class_balance_weights(records, 0.0) is None

    others = [i for i, record in enumerate(records) if record.labels != ["dog"]]

    def dog_shares(power):
        data = mixtures(records, class_balance=power)
        sampler = EpochSampler(len(data), seed=3, weights=data.sample_weights)
        targets, interferers = [], []
        for epoch in range(20):
            sampler.set_epoch(epoch)
            data.set_epoch(epoch)
            targets += [label_of[records[index].id] for index in sampler]
            interferers += [label_of[data[i]["interferer_ids"][0]] for i in others]
        return targets.count("dog") / len(targets), interferers.count("dog") / len(interferers)

    balanced, plain = dog_shares(1.0), dog_shares(0.0)
    assert balanced[0] == pytest.approx(1 / len(CLASSES), abs=0.07) and plain[0] == pytest.approx(
        0.6, abs=0.07
    )
    # interferers of the other targets: 1 of the 4 other classes balanced, 6 of the 9 other clips without
    assert balanced[1] == pytest.approx(1 / 4, abs=0.1) and plain[1] == pytest.approx(6 / 9, abs=0.1)


def test_extra_interferers_and_loudness(tmp_path, corpus):
    data = mixtures(corpus, num_interferers=(2, 3), mixture_lufs=(-30.0, -20.0), snr_range=(-5.0, 5.0))
    fixed = mixtures(corpus, mixture_lufs=-23.0)
    for i in range(6):
        item = data[i]
        assert len(item["interferer_ids"]) in (2, 3) and item["id"] not in item["interferer_ids"]
        assert torch.equal(item["mixture"], item["target"] + item["interference"])
        assert abs(float(snr_db(item["target"], item["interference"])) - item["snr_db"]) < 0.1
        assert -30.5 < loudness_lufs(item["mixture"], 8000) < -19.5
        item = fixed[i]
        assert loudness_lufs(item["mixture"], 8000) == pytest.approx(-23.0, abs=0.05)
        assert abs(float(snr_db(item["target"], item["interference"])) - item["snr_db"]) < 0.1


def test_mixtures_are_reproducible_per_epoch_and_index(tmp_path, corpus):
    data = mixtures(corpus, seed=7)
    first = data[3]
    again = mixtures(corpus, seed=7)[3]
    assert torch.equal(first["mixture"], again["mixture"]) and first["snr_db"] == again["snr_db"]
    data.set_epoch(1)
    assert not torch.equal(first["mixture"], data[3]["mixture"]) and first["snr_db"] != data[3]["snr_db"]
    data.set_epoch(0)
    assert torch.equal(first["mixture"], data[3]["mixture"])
    assert not torch.equal(first["mixture"], mixtures(corpus, seed=8)[3]["mixture"])
    valid = MixtureDataset(ClipDataset(corpus, sample_rate=8000, segment_seconds=0.5, train=False))
    fixed = valid[3]
    valid.set_epoch(5)
    assert torch.equal(fixed["mixture"], valid[3]["mixture"])  # validation mixtures never change


def test_dataloader_workers_give_the_same_batches(tmp_path, corpus):
    data = mixtures(corpus)

    def epoch_batches(loader, epoch):
        data.set_epoch(epoch)
        return [batch for batch in loader]

    single = DataLoader(data, batch_size=4, collate_fn=collate_batch)
    workers = DataLoader(data, batch_size=4, collate_fn=collate_batch, num_workers=2, persistent_workers=True)
    for epoch in (0, 1):
        expected, got = epoch_batches(single, epoch), epoch_batches(workers, epoch)
        for a, b in zip(expected, got, strict=True):
            assert torch.equal(a["mixture"], b["mixture"]) and a["caption"] == b["caption"]
    batch = got[0]
    assert (
        batch["mixture"].shape == (4, 4000) and batch["snr_db"].shape == (4,) and len(batch["caption"]) == 4
    )
    assert isinstance(batch["interferer_ids"][0], list)
    assert not torch.equal(epoch_batches(single, 0)[0]["mixture"], batch["mixture"])
