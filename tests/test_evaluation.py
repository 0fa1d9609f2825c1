"""Benchmarks built bit for bit from tiny generated clips, dataset layouts, and `flowsep evaluate` end to end."""

import csv
import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest
import soundfile as sf
import torch
from test_metrics import tiny_clap  # noqa: F401  (the metrics tests' tiny random CLAP checkpoint)

from flowsep.audio import loudness_lufs
from flowsep.cli import main
from flowsep.data import ClipRecord, write_manifest
from flowsep.errors import UsageError
from flowsep.evaluation import BuildSpec, build_benchmark, read_benchmark
from flowsep.evaluation.build import main as build_main
from flowsep.pipelines import FlowSepPipeline

SR = 16000
SEGMENT = 0.32  # one window of the tiny pipeline: 8 latent frames x 4 x 160 samples
CLIPS = {"tone": ("sine", 440.0), "hum": ("sine", 110.0), "beep": ("sine", 1500.0), "hiss": ("noise", 0.0)}


def write_clip(path, kind: str, frequency: float, seed: int, seconds: float = 1.5):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    wave = 0.3 * np.sin(2 * np.pi * frequency * t) if kind == "sine" else 0.1 * rng.standard_normal(t.size)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wave.astype(np.float32), SR)


@pytest.fixture(scope="module")
def clip_manifest(tmp_path_factory):
    """Four labelled 1.5 s clips (three tones and a noise) and their manifest."""
    folder = tmp_path_factory.mktemp("clips")
    records = []
    for index, (label, (kind, frequency)) in enumerate(CLIPS.items()):
        write_clip(folder / f"{label}.wav", kind, frequency, index)
        records.append(
            ClipRecord(f"clip-{label}", str(folder / f"{label}.wav"), [f"a {label} sound"], [label])
        )
    return write_manifest(records, folder / "clips.jsonl")


def build(source, out, kind="manifest", segment_seconds=1.0, **options):
    return build_benchmark(BuildSpec(kind, str(source), str(out), segment_seconds=segment_seconds, **options))


@pytest.fixture(scope="module")
def benchmark(clip_manifest, tmp_path_factory):
    """A 3-item benchmark of mixtures as long as one window of the tiny model, at SNRs in [-15, 15] dB."""
    out = tmp_path_factory.mktemp("bench") / "tiny"
    return build(clip_manifest, out, segment_seconds=SEGMENT, count=3, snr=(-15.0, 15.0), name="tiny")


def read_rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


# ---------------------------------------------------------------- building


def test_building_twice_gives_identical_bytes(clip_manifest, benchmark, tmp_path):
    again = build(
        clip_manifest, tmp_path / "tiny", segment_seconds=SEGMENT, count=3, snr=(-15.0, 15.0), name="tiny"
    )
    first = {
        p.relative_to(benchmark.parent): p.read_bytes() for p in benchmark.parent.rglob("*") if p.is_file()
    }
    second = {p.relative_to(again.parent): p.read_bytes() for p in again.parent.rglob("*") if p.is_file()}
    assert len(first) == 3 * 3 + 2 and first == second
    other = build(
        clip_manifest,
        tmp_path / "seed1",
        segment_seconds=SEGMENT,
        count=3,
        snr=(-15.0, 15.0),
        name="tiny",
        seed=1,
    )
    assert other.read_bytes() != benchmark.read_bytes()


def test_built_mixtures_have_the_manifest_snr_and_sum_exactly(benchmark):
    rows = read_rows(benchmark)
    assert [row["id"] for row in rows] == ["tiny-00000", "tiny-00001", "tiny-00002"]
    for row in rows:
        parts = {
            key: sf.read(benchmark.parent / row[key], dtype="float64")[0]
            for key in ("reference", "interference")
        }
        mixture, rate = sf.read(benchmark.parent / row["audio"], dtype="float64")
        assert rate == SR and mixture.shape == (round(SEGMENT * SR),)
        assert np.array_equal(mixture, parts["reference"] + parts["interference"])
        snr = 10 * np.log10(np.sum(parts["reference"] ** 2) / np.sum(parts["interference"] ** 2))
        assert abs(snr - row["snr_db"]) < 0.01 and -15 <= row["snr_db"] <= 15
        assert (
            row["captions"] == [f"a {row['labels'][0]} sound"]
            and row["target_id"] != row["interferer_ids"][0]
        )
    assert len({row["target_id"] for row in rows}) == 3  # each clip is a target once per pass


def test_loudness_levels(clip_manifest, tmp_path):
    manifest = build(clip_manifest, tmp_path / "loud", count=2, loudness=(-35.0, -25.0), pool=3)
    for row in read_rows(manifest):
        reference, _ = sf.read(manifest.parent / row["reference"])
        assert -35 <= row["target_lufs"] <= -25 and row["gain_db"] == 0.0
        assert loudness_lufs(reference, SR) == pytest.approx(row["target_lufs"], abs=0.05)


def test_esc50_layout(tmp_path):
    root = tmp_path / "ESC-50-master"
    meta = [("1-100032-A-0.wav", "dog"), ("1-100038-A-14.wav", "chirping_birds"), ("1-115545-A-48.wav", "fireworks"),
            ("2-104532-A-0.wav", "dog")]  # fmt: skip
    (root / "meta").mkdir(parents=True)
    with open(root / "meta" / "esc50.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["filename", "fold", "target", "category", "esc10", "src_file", "take"])
        for index, (name, category) in enumerate(meta):
            writer.writerow([name, name[0], index, category, "False", name[2:8], "A"])
            write_clip(
                root / "audio" / name, "sine" if index % 2 else "noise", 200.0 * (index + 1), index, 5.0
            )
    assert (
        build_main(["esc50", str(root), str(tmp_path / "esc50"), "--count", "4", "--segment-seconds", "1"])
        == 0
    )
    rows = read_rows(tmp_path / "esc50" / "manifest.jsonl")
    labels = {f"esc50-{name[:-4]}": category for name, category in meta}
    assert sorted(row["target_id"] for row in rows) == sorted(
        labels
    )  # 4 mixtures: every clip is a target once
    for row in rows:
        assert row["snr_db"] == 0.0 and labels[row["interferer_ids"][0]] != row["labels"][0]
        assert row["captions"][0] == row["labels"][0].replace("_", " ")


def test_audiocaps_layout_keeps_caption_keywords_apart(tmp_path):
    root = tmp_path / "audiocaps"
    captions = {
        "yt1": "A dog barks loudly",
        "yt2": "Dogs barking in the distance",
        "yt3": "Rain falls on a roof",
    }
    rows = ["audiocap_id,youtube_id,start_time,caption"]
    for index, (youtube_id, caption) in enumerate(captions.items()):
        rows.append(f"{index},{youtube_id},30,{caption}")
        write_clip(root / "audio" / f"{youtube_id}.wav", "sine", 300.0 * (index + 1), index)
    (root / "test.csv").write_text("\n".join(rows) + "\n")
    for row in read_rows(build(root, tmp_path / "audiocaps-bench", kind="audiocaps", count=3)):
        target, interferer = row["target_id"], row["interferer_ids"][0]
        assert "yt3" in (target + interferer)  # the two dog clips share "dog" and "bark": never mixed
        assert row["captions"] == [captions[target.removeprefix("audiocaps-")]]


def test_dcase_layouts_and_reference_free_sets(saved_tiny_pipe, tmp_path, capsys, monkeypatch):
    root = tmp_path / "dcase"
    for index, name in enumerate(("a", "b", "c")):
        write_clip(root / "lass_validation" / f"{name}.wav", "sine", 300.0 * (index + 1), index, 1.0)
    (root / "lass_synthetic_validation.csv").write_text(
        "source,noise,snr,caption\na,b,5,a dog barks\nb,c,-3,rain\n"
    )
    rows = read_rows(build(root, tmp_path / "validation", kind="dcase2024-validation"))
    assert [(row["snr_db"], row["captions"][0]) for row in rows] == [(5.0, "a dog barks"), (-3.0, "rain")]
    monkeypatch.setenv("FLOWSEP_BENCHMARKS", str(tmp_path))
    assert read_benchmark("validation").items[1].snr_db == -3.0  # a name under $FLOWSEP_BENCHMARKS
    with pytest.raises(UsageError, match="fixed set: count"):
        build(root, tmp_path / "other", kind="dcase2024-validation", count=5)
    write_clip(root / "lass_evaluation_real" / "rec1.wav", "noise", 0.0, 0, 2.0)
    (root / "lass_real_evaluation.csv").write_text("wav,query\nrec1.wav,birds singing\n")
    real = read_benchmark(
        build_benchmark(BuildSpec("dcase2024-eval-real", str(root), str(tmp_path / "real")))
    )
    assert not real.has_references and real.items[0].query == "birds singing"
    assert sf.info(str(real.items[0].mixture)).frames == 2 * SR  # released recordings are kept whole
    out = tmp_path / "run"
    code = main(["evaluate", "--model", str(saved_tiny_pipe), "-b", str(tmp_path / "real"), "-o", str(out)])
    assert code == 2 and "without a reference" in capsys.readouterr().err and not out.exists()


# ---------------------------------------------------------------- evaluate


@pytest.fixture
def separations(monkeypatch):
    """Counts the pipeline calls (the warm-up included)."""
    calls = []
    original = FlowSepPipeline.__call__

    def counting(self, *args, **kwargs):
        calls.append(kwargs.get("num_inference_steps"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FlowSepPipeline, "__call__", counting)
    return calls


def test_evaluate_writes_tables_and_resumes(saved_tiny_pipe, benchmark, tmp_path, separations):
    out = tmp_path / "run"
    args = ["evaluate", "--model", str(saved_tiny_pipe), "-b", str(benchmark.parent), "-o", str(out),
            "--steps", "1", "2", "--figures", "1", "--plot"]  # fmt: skip
    assert main(args) == 0
    assert sorted(separations) == [1, 1, 1, 1, 2, 2, 2]  # a warm-up, then 3 items x 2 step counts
    with open(out / "items.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["system"], row["id"]) for row in rows[:4]] == [
        ("mixture", "tiny-00000"), ("mixture", "tiny-00001"), ("mixture", "tiny-00002"), ("steps-1", "tiny-00000")
    ]  # fmt: skip
    assert len(rows) == 9 and all(float(row["si_sdri"]) == 0.0 for row in rows[:3])
    assert all(np.isfinite(float(row["sdri"])) and float(row["seconds"]) > 0 for row in rows[3:])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] == str(saved_tiny_pipe.resolve()) and summary["settings"]["steps"] == [1, 2]
    assert summary["versions"]["torch"] == torch.__version__ and summary["benchmarks"]["tiny"]["items"] == 3
    assert summary["results"]["tiny"]["steps-2"]["nfe"] == 2
    tables = (out / "results.md").read_text()
    assert (
        "| Mixture (unprocessed) | " in tables and "| FlowSep, 2 steps |" in tables and "Table III" in tables
    )
    assert "tiny SI-SDRi ↑" in tables
    assert (out / "metric_vs_steps.png").is_file() and (out / "figures" / "tiny" / "tiny-00000.png").is_file()
    # A rerun finds every item done: nothing is separated or rewritten.
    outputs = {p: p.stat().st_mtime_ns for p in (out / "outputs").rglob("*.wav")}
    separations.clear()
    assert main([*args[:-3], "--figures", "0"]) == 0  # (figures and plot, checked above, only cost time here)
    assert (
        separations == [] and {p: p.stat().st_mtime_ns for p in (out / "outputs").rglob("*.wav")} == outputs
    )
    # Other sampling settings do not mix into this run folder.
    assert main([*args, "--seed", "1"]) == 2 and separations == []


def test_fad_with_missing_weights_fails_before_separating(
    saved_tiny_pipe, benchmark, tmp_path, separations, capsys
):
    out = tmp_path / "run"
    code = main(["evaluate", "--model", str(saved_tiny_pipe), "-b", str(benchmark), "-o", str(out),
                 "--metrics", "sisdr", "fad", "--fad-ckpt-dir", str(tmp_path / "no-weights")])  # fmt: skip
    assert code == 2 and "weights not found" in capsys.readouterr().err
    assert separations == [] and not out.exists()


def test_fad_through_evaluate(saved_tiny_pipe, benchmark, tmp_path, monkeypatch):
    class StubPackageFAD:  # stands in for frechet_audio_distance.FrechetAudioDistance (no weights here)
        def __init__(self, ckpt_dir, model_name, sample_rate):
            pass

        def get_embeddings(self, x, sr):
            (wave,) = x
            return np.stack([wave[1000:1004], wave[4000:4004]])  # (frames=2, D=4)

    monkeypatch.setitem(
        sys.modules, "frechet_audio_distance", types.SimpleNamespace(FrechetAudioDistance=StubPackageFAD)
    )
    (tmp_path / "Cnn14_16k_mAP%3D0.438.pth").touch()
    out = tmp_path / "run"
    code = main(["evaluate", "--model", str(saved_tiny_pipe), "-b", str(benchmark), "-o", str(out), "--steps", "1",
                 "--metrics", "fad", "--fad-backbone", "pann", "--fad-ckpt-dir", str(tmp_path), "--figures", "0",
                 "--batch-size", "2"])  # fmt: skip
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["checkpoints"]["fad"] == "pann"
    values = [summary["results"]["tiny"][system]["fad"] for system in ("mixture", "steps-1")]
    assert all(value is not None and value > 0 for value in values)
    assert "tiny FAD ↓" in (out / "results.md").read_text()


def test_clap_scores_through_evaluate(saved_tiny_pipe, benchmark, tiny_clap, tmp_path, separations):  # noqa: F811
    out = tmp_path / "run"
    args = ["evaluate", "--model", str(saved_tiny_pipe), "-b", str(benchmark), "-o", str(out), "--steps", "1",
            "--figures", "0", "--limit", "2"]  # fmt: skip
    assert main([*args, "--metrics", "sisdr"]) == 0 and len(separations) == 3  # a warm-up and 2 items
    # An added metric is computed from the cached outputs: nothing is separated again.
    assert main([*args, "--metrics", "sisdr", "clap", "--clap-checkpoint", str(tiny_clap)]) == 0
    assert len(separations) == 3
    with open(out / "items.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and all(float(row["si_sdri"]) != 0.0 for row in rows[2:])
    scores = [float(row[name]) for row in rows for name in ("clap_score", "clap_score_a")]
    assert all(-100 <= score <= 100 for score in scores)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["checkpoints"] == {"clap": str(tiny_clap)}
    assert "tiny CLAPScore_A ↑" in (out / "results.md").read_text()


@pytest.mark.slow
def test_two_processes_split_the_items(saved_tiny_pipe, benchmark, tmp_path):
    """`accelerate launch --multi_gpu --num_processes 2` on a CPU machine: each process scores its share."""
    out = tmp_path / "run"
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "flowsep.cli",
               "evaluate", "--model", str(saved_tiny_pipe), "-b", str(benchmark), "-o", str(out), "--steps", "1",
               "--figures", "0"]  # fmt: skip
    result = subprocess.run(
        command,
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    shards = {path.name: len(path.read_text().splitlines()) for path in (out / "rows").glob("*.jsonl")}
    assert shards == {"rank0.jsonl": 3, "rank1.jsonl": 3}
    with open(out / "items.csv") as handle:
        assert len(list(csv.DictReader(handle))) == 6


def test_balanced_targets_come_class_by_class():
    """Guards --balance-classes: a class of ten clips and two of one clip each fill a benchmark equally, every
    round holds each class once, and the order is fixed by the seed."""
    from flowsep.evaluation.planning import balanced_targets

    pool = [ClipRecord(f"a{k}", f"a{k}.wav", ["a"], ["a"]) for k in range(10)]
    pool += [ClipRecord("b0", "b0.wav", ["b"], ["b"]), ClipRecord("c0", "c0.wav", ["c"], ["c"])]
    targets = balanced_targets(pool, 9, seed=0)
    labels = [record.labels[0] for record in targets]
    assert sorted(labels) == ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    assert all(sorted(labels[k : k + 3]) == ["a", "b", "c"] for k in (0, 3, 6))
    assert len({record.id for record in targets if record.labels == ["a"]}) == 3  # different clips of a
    assert [r.id for r in balanced_targets(pool, 9, seed=0)] == [r.id for r in targets]
