"""Every command's contract with hostile input, one table per command, run through the real entry point.

Each row: the arguments, a setup, and a fragment of the error. Every row runs ``flowsep.cli.main`` in a fresh
process (as ``python -m flowsep.cli`` does) and asserts exit code 2, one line on stderr and no traceback, that
no heavy library (torch, diffusers, transformers, accelerate, gradio) was imported before the error (so that it
is reported in a fraction of a second), and that nothing changed in the work folder (a listing with hashes,
before and after). The classes of issue 21: paths (outside the named folder, replacing an input), deleting what
was not made here, finite but absurd numbers, late or raw errors, unflagged shortcuts.
"""

import json
import os
import pickle
import socket
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import run_cli, snapshot

RECIPE = str(Path(__file__).resolve().parent.parent / "recipes" / "tiny" / "vae.yaml")
ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False
TEXT_ENCODER = ["--text-encoder", "textenc"]
CONVERT = ["convert", "official-flowsep"]
MODEL = ["--model", "{tiny}"]
EVAL = ["evaluate", "-b", "bench", "-o", "run", *MODEL]
DATA = ["--set", "data.train=[t.jsonl]", "--set", "data.valid=[t.jsonl]"]


class RunsCode:
    """Pickles as a call of ``os.system``: a checkpoint payload (never unpickled here)."""

    def __reduce__(self):
        return (os.system, ("true",))


class Extra:
    """A non-tensor object in a checkpoint (as Lightning's hyper-parameters are)."""


def wave(path: Path, seconds: float, rate: int = 16000):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(
        path, (0.1 * np.random.default_rng(0).standard_normal(int(seconds * rate))).astype(np.float32), rate
    )


def write_bench(place: Path, row: dict | None = None, name: str = "bench", reference_seconds: float = 1.0):
    """A one-item benchmark folder ``bench/`` (row fields replaced by ``row``)."""
    folder = place / "bench"
    wave(folder / "mixture" / "b-0.wav", 1.0)
    wave(folder / "reference" / "b-0.wav", reference_seconds)
    record = {
        "id": "b-0",
        "audio": "mixture/b-0.wav",
        "captions": ["a dog"],
        "reference": "reference/b-0.wav",
    }
    (folder / "manifest.jsonl").write_text(json.dumps(record | (row or {})) + "\n")
    (folder / "benchmark.json").write_text(json.dumps({"name": name}))


def write_checkpoints(place: Path):
    """A text file, a plain pickle, a legacy checkpoint with an object, zip checkpoints with payloads (protocol
    2's GLOBAL and protocol 4's STACK_GLOBAL), a zip without data.pkl, a valid zip of tensors."""
    (place / "text.ckpt").write_text("not a checkpoint\n")
    (place / "plain.pkl").write_bytes(pickle.dumps({"a": [1, 2]}, protocol=4))
    torch.save({"state_dict": {"a": torch.zeros(2)}, "x": Extra()}, place / "legacy.ckpt",
               _use_new_zipfile_serialization=False)  # fmt: skip
    torch.save({"state_dict": {"a": torch.zeros(2)}, "x": RunsCode()}, place / "payload.ckpt")
    with zipfile.ZipFile(place / "payload4.ckpt", "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"x": RunsCode()}, protocol=4))
    with zipfile.ZipFile(place / "nodata.ckpt", "w") as archive:
        archive.writestr("a.txt", "x")
    torch.save({"a": torch.zeros(2)}, place / "zip.ckpt")


def setup_case(place: Path, setup: str | None):
    if setup is None:
        return
    if setup == "bench_clips":
        setup_case(place, "bench")
        setup_case(place, "clips")
    elif setup.startswith("bench"):
        variants = {
            "bench": {}, "bench_escape": {"row": {"id": "../../../../x"}},
            "bench_climb": {"row": {"id": "../x"}}, "bench_name": {"name": "../../evil"},
            "bench_short": {"reference_seconds": 0.5}, "bench_zw": {"row": {"captions": ["a\u200bdog"]}},
            "bench_missing": {"row": {"audio": "mixture/gone.wav"}}, "bench_noref": {"row": {"reference": None}},
        }  # fmt: skip
        write_bench(place, **variants[setup])
    elif setup == "ckpts":
        write_checkpoints(place)
    elif setup == "out_holds_encoder":
        write_checkpoints(place)
        (place / "out" / "te").mkdir()
        (place / "out" / "te" / "config.json").write_text("{}")
    elif setup == "out_holds_ckpt":
        write_checkpoints(place)
        (place / "zip.ckpt").rename(place / "out" / "zip.ckpt")
    elif setup == "out_full":
        write_checkpoints(place)
        (place / "out" / "keep.txt").write_text("mine")
    elif setup == "clips":
        (place / "ds").mkdir()
        wave(place / "ds" / "a.wav", 1.0)
        row = {"id": "a", "audio": "a.wav", "captions": ["a tone"], "labels": ["tone"]}
        (place / "ds" / "clips.jsonl").write_text(json.dumps(row) + "\n")
        (place / "ds" / "test.csv").write_text("audiocap_id,youtube_id,start_time,caption\n")
        (place / "existing.jsonl").write_text("{}\n")
    elif setup == "toy":
        (place / "corpus" / "audio").mkdir(parents=True)
        (place / "corpus" / "audio" / "tone-0.wav").write_bytes(b"mine")
    elif setup == "recipes":
        (place / "t.jsonl").write_text("")
        (place / "bad.yaml").write_text("a: [\n")


EVALUATE = [
    ("id escapes", EVAL, "bench_escape", "../../../../x.wav would be written outside the output folder run"),
    ("id climbs", EVAL, "bench_climb", "run/outputs/bench/steps-10/../x.wav has '..' in its name"),
    ("name escapes", EVAL, "bench_name", "would be written outside the output folder run"),
    ("reference shorter", EVAL, "bench_short", "its reference lasts 0.500 s, its mixture 1.000 s"),
    ("--trim hint", EVAL, "bench_short", "pass --trim to score the shared part"),
    ("query zero-width", EVAL, "bench_zw", "query: the query holds an invisible formatting character"),
    ("mixture missing", EVAL, "bench_missing", "its mixture"),
    ("sisdr without references", EVAL, "bench_noref", "has items without a reference source"),
    ("-o a file", [*EVAL, "-o", "text.txt"], "bench", "the output folder text.txt is a file"),
    ("-o under a file", [*EVAL, "-o", "text.txt/run"], "bench", "is a file, not a folder"),
    ("-o the benchmark", [*EVAL, "-o", "bench"], "bench", "is not an evaluation run folder"),
    ("-o a used folder", [*EVAL, "-o", "out_used"], "bench", "is not an evaluation run folder"),
    ("guidance 1e30", [*EVAL, "--guidance", "1e30"], "bench", "--guidance: must be at least -100 and at most 100"),
    ("guidance -1e30", [*EVAL, "--guidance=-1e30"], "bench", "--guidance: must be at least -100"),
    ("source-noise 1e30", [*EVAL, "--source-noise", "1e30"], "bench", "--source-noise: must be at least 0"),
    ("seed 2^64", [*EVAL, "--seed", str(2**64)], "bench", "--seed: must be at least 0 and at most 18446744073709551615"),
    ("shift 1e30", [*EVAL, "--shift", "1e30"], "bench", "--shift: must be > 0 and at most 100"),
    ("figures -1", [*EVAL, "--figures", "-1"], "bench", "--figures: must be at least 0"),
    ("steps 0", [*EVAL, "--steps", "1", "0"], "bench", "--steps: must be at least 1"),
    ("device huge", [*EVAL, "--device", "cuda:99999999999999999999"], "bench", "is not available"),
    ("benchmark missing", ["evaluate", "-b", "nowhere", "-o", "run", *MODEL], None, "benchmark not found"),
    ("model missing", ["evaluate", "-b", "bench", "-o", "run", "--model", "no/such/model"], "bench", "model folder not found"),
]  # fmt: skip
CONVERTS = [
    ("text file", [*CONVERT, "text.ckpt", "new", *TEXT_ENCODER], "ckpts", "text.ckpt is not a PyTorch checkpoint"),
    ("plain pickle", [*CONVERT, "plain.pkl", "new", *TEXT_ENCODER], "ckpts", "plain.pkl is a plain pickle"),
    ("legacy with objects", [*CONVERT, "legacy.ckpt", "new", *TEXT_ENCODER], "ckpts", "is a legacy (pre-zip) checkpoint holding objects"),
    ("payload", [*CONVERT, "payload.ckpt", "new", *TEXT_ENCODER], "ckpts", "names posix.system, which run code"),
    ("payload --trust-pickle", [*CONVERT, "payload.ckpt", "new", *TEXT_ENCODER, "--trust-pickle"], "ckpts", "which run code"),
    ("payload protocol 4", [*CONVERT, "payload4.ckpt", "new", *TEXT_ENCODER], "ckpts", "names posix.system"),
    ("zip without data.pkl", [*CONVERT, "nodata.ckpt", "new", *TEXT_ENCODER], "ckpts", "no data.pkl in it"),
    ("checkpoint missing", [*CONVERT, "none.ckpt", "new", *TEXT_ENCODER], None, "checkpoint not found: none.ckpt"),
    ("checkpoint a folder", [*CONVERT, "out", "new", *TEXT_ENCODER], None, "out is not a file"),
    ("output under a file", [*CONVERT, "zip.ckpt", "text.txt/new", *TEXT_ENCODER], "ckpts", "is a file, not a folder"),
    ("output a file", [*CONVERT, "zip.ckpt", "text.txt", *TEXT_ENCODER], "ckpts", "text.txt exists and is not a folder"),
    ("output not empty", [*CONVERT, "zip.ckpt", "out", *TEXT_ENCODER], "out_full", "out exists: choose another folder, or pass --overwrite"),
    ("--overwrite, encoder inside", [*CONVERT, "zip.ckpt", "out", "--text-encoder", "out/te", "--overwrite"], "out_holds_encoder", "out holds the input out/te"),
    ("--overwrite, checkpoint inside", [*CONVERT, "out/zip.ckpt", "out", *TEXT_ENCODER, "--overwrite"], "out_holds_ckpt", "out holds the input out/zip.ckpt"),
    ("encoder missing", [*CONVERT, "zip.ckpt", "new", "--text-encoder", "no/such/folder"], "ckpts", "--text-encoder no/such/folder: folder not found"),
    ("encoder no config", [*CONVERT, "zip.ckpt", "new", "--text-encoder", "out"], "ckpts", "no config.json in it"),
    ("encoder offline", [*CONVERT, "zip.ckpt", "new", "--text-encoder", "nobody/no-such-t5"], "ckpts", "not in the Hugging Face cache"),
]  # fmt: skip
APP = [
    ("host 999.999.1.1", ["app", "--host", "999.999.1.1"], None, "--host: not an IP address or host name"),
    ("host with a space", ["app", "--host", "a b"], None, "--host: not an IP address or host name"),
    ("host of another machine", ["app", *MODEL, "--host", "203.0.113.5"], None, "--host 203.0.113.5: cannot serve on it"),
    ("host unresolved", ["app", *MODEL, "--host", "nothing.invalid"], None, "the name does not resolve"),
    ("port 70000", ["app", "--port", "70000"], None, "--port: must be at least 1 and at most 65535"),
    ("port 0", ["app", "--port", "0"], None, "--port: must be at least 1"),
    ("port busy", ["app", *MODEL, "--port", "{busy}"], None, "is in use: choose another"),
    ("device huge", ["app", "--device", "cuda:99999999999999999999"], None, "is not available"),
    ("model missing", ["app", "--model", "no/such/model"], None, "model folder not found"),
]  # fmt: skip
BUILD = ["build-benchmark", "manifest", "ds/clips.jsonl", "b"]
BUILD_BENCHMARK = [
    ("source missing", ["build-benchmark", "esc50", "nowhere", "b"], None, "dataset source not found: nowhere"),
    ("seed 2^64", [*BUILD, "--seed", str(2**64)], "clips", "--seed: must be at least 0 and at most"),
    ("seed -1", [*BUILD, "--seed", "-1"], "clips", "--seed: must be at least 0"),
    ("snr nan", [*BUILD, "--snr", "nan", "0"], "clips", "--snr: must be a finite number"),
    ("snr 1e30", [*BUILD, "--snr", "1e30", "0"], "clips", "--snr: must be at least -100 and at most 100"),
    ("snr reversed", [*BUILD, "--snr", "5", "-5"], "clips", "--snr 5 -5: LO must not be above HI"),
    ("loudness -1e30", [*BUILD, "--loudness", "-1000", "-20"], "clips", "--loudness: must be at least -100"),
    ("segment -1", [*BUILD, "--segment-seconds", "-1"], "clips", "--segment-seconds: must be > 0"),
    ("segment 1e30", [*BUILD, "--segment-seconds", "1e30"], "clips", "at most 3600"),
    ("sample rate 0", [*BUILD, "--sample-rate", "0"], "clips", "--sample-rate: must be at least 1000"),
    ("count 0", [*BUILD, "--count", "0"], "clips", "--count: must be at least 1"),
    ("kind unknown", ["build-benchmark", "audioset", "ds", "b"], "clips", "invalid choice: 'audioset'"),
    ("out a file", [*BUILD[:3], "text.txt"], "clips", "text.txt exists and is not a folder"),
    ("out under a file", [*BUILD[:3], "text.txt/b"], "clips", "is a file, not a folder"),
    ("out holds a benchmark", [*BUILD[:3], "bench"], "bench_clips", "bench already holds a benchmark: pass --force"),
    ("out inside the source", ["build-benchmark", "esc50", "ds", "ds/b"], "clips", "overlap"),
    ("source inside out --force", [*BUILD[:3], "ds", "--force"], "clips", "overlap"),
    ("clip list missing", [*BUILD, "--clip-list", "none.txt"], "clips", "--clip-list none.txt: file not found"),
]  # fmt: skip
MANIFEST = ["build-manifest", "audiocaps", "ds"]
BUILD_MANIFEST = [
    ("kind unknown", ["build-manifest", "audioset", "ds", "m.jsonl"], "clips", "invalid choice: 'audioset'"),
    ("root missing", ["build-manifest", "audiocaps", "nowhere", "m.jsonl"], None, "dataset root is not a folder"),
    ("out a folder", [*MANIFEST, "out"], "clips", "out is a folder: give a file name"),
    ("out suffix", [*MANIFEST, "m.txt"], "clips", "give a file name ending in .jsonl or .csv"),
    ("out exists", [*MANIFEST, "existing.jsonl"], "clips", "existing.jsonl exists: choose another name"),
    ("out is the dataset's CSV", [*MANIFEST, "ds/test.csv", "--overwrite"], "clips", "not replaced, even with --overwrite"),
    ("out under a file", [*MANIFEST, "text.txt/m.jsonl"], "clips", "is a file, not a folder"),
    ("glob leaves the root", [*MANIFEST, "m.jsonl", "--audio-glob", "../*"], "clips", "give a pattern relative to the root"),
]  # fmt: skip
TOY_CORPUS = [
    ("seconds nan", ["toy-corpus", "corpus", "--seconds", "nan"], None, "--seconds: must be a finite number"),
    ("seconds inf", ["toy-corpus", "corpus", "--seconds", "inf"], None, "--seconds: must be a finite number"),
    ("seconds 0", ["toy-corpus", "corpus", "--seconds", "0"], None, "--seconds: must be > 0 and at most 60"),
    ("seconds 1e30", ["toy-corpus", "corpus", "--seconds", "1e30"], None, "at most 60"),
    ("clips 100000", ["toy-corpus", "corpus", "--clips-per-sound", "100000"], None, "at most 1000"),
    ("clips 1", ["toy-corpus", "corpus", "--clips-per-sound", "1"], None, "must be at least 2"),
    ("out a file", ["toy-corpus", "text.txt"], None, "the output folder text.txt is a file"),
    ("out under a file", ["toy-corpus", "text.txt/c"], None, "is a file, not a folder"),
    ("files exist", ["toy-corpus", "corpus"], "toy", "tone-0.wav exists (1 of the corpus's files do): pass --overwrite"),
]  # fmt: skip
TRAIN = [
    ("recipe missing", ["train", "none.yaml"], None, "recipe not found: none.yaml"),
    ("recipe not YAML", ["train", "bad.yaml"], "recipes", "bad.yaml: invalid YAML at line 2, column 1"),
    ("recipe not a mapping", ["train", "text.txt"], None, "a recipe is a mapping of keys"),
    ("recipe binary", ["train", "mix.wav"], None, "cannot read the recipe"),
    ("unknown key", ["train", RECIPE, "--set", "trainer.max_step=1"], None, "trainer.max_step: unknown key"),
    ("--set not YAML", ["train", RECIPE, "--set", "seed=["], None, "override 'seed=[': invalid YAML"),
    ("seed 2^32", ["train", RECIPE, *DATA, "--set", f"seed={2**32}"], "recipes", "seed: must be at least 0 and at most 4294967295"),
    ("learning rate nan", ["train", RECIPE, "--set", "trainer.learning_rate=.nan"], None, "trainer.learning_rate: must be a finite"),
    ("--max-steps -1", ["train", RECIPE, "--max-steps", "-1"], None, "--max-steps: must be at least 0"),
    ("manifest missing", ["train", RECIPE], None, "data.train[0]: runs/toy-corpus/train.jsonl not found"),
    ("output a file", ["train", RECIPE, *DATA, "--output-dir", "text.txt"], "recipes", "output_dir: text.txt is a file"),
    ("output under a file", ["train", RECIPE, *DATA, "--output-dir", "text.txt/r"], "recipes", "is a file, not a folder"),
    ("resume missing", ["train", RECIPE, *DATA, "--resume", "nowhere"], "recipes", "resume: nowhere is not a checkpoint folder"),
    ("init_from missing", ["train", RECIPE, *DATA, "--set", "init_from=nowhere"], "recipes", "init_from: nowhere not found"),
]  # fmt: skip
SEP = ["separate", "mix.wav", "-q", "a dog", "-o", "out/o.wav", *MODEL]
SEPARATE = [
    ("guidance 1e30", [*SEP, "--guidance", "1e30"], None, "--guidance: must be at least -100 and at most 100"),
    ("source-noise 1e30", [*SEP, "--source-noise", "1e30"], None, "--source-noise: must be at least 0 and at most 100"),
    ("seed 2^64", [*SEP, "--seed", str(2**64)], None, "--seed: must be at least 0 and at most 18446744073709551615"),
    ("seed -1", [*SEP, "--seed", "-1"], None, "--seed: must be at least 0"),
    ("shift 1e30", [*SEP, "--shift", "1e30"], None, "--shift: must be > 0 and at most 100"),
    ("device huge", [*SEP, "--device", "cuda:99999999999999999999"], None, "is not available"),
    ("batch guidance 1e30", ["separate-batch", "out", "-o", "o2", "-q", "x", "--guidance", "1e30"], None, "--guidance: must be at least -100"),
    ("demo guidance 1e30", ["demo", "-o", "d", "--guidance", "1e30"], None, "--guidance: must be at least -100"),
]  # fmt: skip
if sys.platform != "darwin":
    SEPARATE.append(("device mps", [*SEP, "--device", "mps"], None, "'mps' is not available on this machine"))
TABLES = {
    "evaluate": EVALUATE, "convert": CONVERTS, "app": APP, "build-benchmark": BUILD_BENCHMARK,
    "build-manifest": BUILD_MANIFEST, "toy-corpus": TOY_CORPUS, "train": TRAIN, "separate": SEPARATE,
}  # fmt: skip
ROWS = [pytest.param(*row, id=f"{command}: {row[0]}") for command, rows in TABLES.items() for row in rows]


@pytest.fixture
def place(tmp_path) -> Path:
    """A work folder: an input mix.wav, a text file, an empty output folder out/, a used folder out_used/, and a
    text-encoder folder textenc/ (its config only)."""
    wave(tmp_path / "mix.wav", 0.5)
    (tmp_path / "text.txt").write_text("not a recipe, not audio")
    (tmp_path / "out").mkdir()
    (tmp_path / "out_used").mkdir()
    (tmp_path / "out_used" / "notes.md").write_text("mine")
    (tmp_path / "textenc").mkdir()
    (tmp_path / "textenc" / "config.json").write_text("{}")
    return tmp_path


@pytest.fixture
def busy_port():
    """A port something listens on (127.0.0.1)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.parametrize("case, args, setup, fragment", ROWS)
def test_every_command_refuses_bad_input_at_once_and_touches_nothing(
    place, saved_tiny_pipe, busy_port, case, args, setup, fragment
):
    setup_case(place, setup)
    before = snapshot(place)
    args = [arg.format(tiny=saved_tiny_pipe, busy=busy_port) for arg in args]
    result = run_cli(args, place, light=True)
    assert result.returncode == 2, result.stderr + result.stdout
    assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.strip().startswith("flowsep")
    assert result.stderr.strip().count("\n") == 0, result.stderr  # one line
    assert result.stdout.strip().endswith("heavy: []"), result.stdout  # reported before any heavy import
    assert snapshot(place) == before  # nothing written, replaced or deleted, here or in the named folder


def test_every_command_has_a_table():
    from flowsep.cli import COMMANDS

    tabled = set(TABLES) | {"separate-batch", "demo", "queries"}  # (those three: tests/test_cli_contract.py)
    assert set(COMMANDS) <= tabled
