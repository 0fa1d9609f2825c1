"""The command line's contract with hostile input, as a table run through the real entry point.

Each row: the command's arguments, the exit code, a fragment of the one-line error. For every row the input is
unchanged and nothing changed on disk (errors come before any work), and stderr holds no traceback. Then: the
user's format comes back (44.1 kHz stereo in and out, target + residual == input), batch names never collide,
resume is keyed on the recorded settings, short files never stop a batch, and the API's argument checks.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import run_cli, snapshot

from flowsep.cli import main

NO_CUDA = not torch.cuda.is_available()
ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    """The tiny model, and broken variants: no vocoder, a pickled text encoder, an absurd config."""
    from flowsep.testing import make_tiny_pipeline

    root = tmp_path_factory.mktemp("models")
    tiny = root / "tiny"
    make_tiny_pipeline(seed=0).save_pretrained(tiny)
    variants = {"tiny": tiny}
    for name in ("no_vocoder", "pickle", "absurd"):
        shutil.copytree(tiny, root / name)
        variants[name] = root / name
    index = json.loads((tiny / "model_index.json").read_text())
    index["vocoder"] = [None, None]
    (root / "no_vocoder" / "model_index.json").write_text(json.dumps(index))
    shutil.rmtree(root / "no_vocoder" / "vocoder")
    encoder = root / "pickle" / "text_encoder"
    (encoder / "model.safetensors").unlink()
    (encoder / "pytorch_model.bin").write_bytes(b"\x80\x04 not unpickled")
    config_file = root / "absurd" / "transformer" / "config.json"
    config = json.loads(config_file.read_text())
    config_file.write_text(json.dumps(config | {"num_layers": 10**9}))
    return variants


@pytest.fixture
def place(tmp_path) -> Path:
    """A work folder with an input mix.wav, a 16 kHz noise mixture, an existing output folder out/."""
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "mix.wav", (0.1 * rng.standard_normal(8000)).astype(np.float32), 16000)
    (tmp_path / "out").mkdir()
    return tmp_path


def setup_case(place: Path, setup: str):
    if setup == "existing":
        (place / "out" / "o.wav").write_bytes(b"keep me")
    elif setup == "hardlink":
        os.link(place / "mix.wav", place / "out" / "same.wav")
    elif setup == "symlink":
        (place / "out" / "link.wav").symlink_to(place / "mix.wav")
    elif setup == "fifo":
        os.mkfifo(place / "out" / "fifo.wav")
    elif setup == "readonly":
        (place / "ro").mkdir()
        (place / "ro").chmod(0o555)
    elif setup == "empty":
        sf.write(place / "empty.wav", np.zeros(0, np.float32), 16000)
    elif setup == "nan":
        sf.write(place / "nan.wav", np.array([0.1, np.nan] * 400, np.float32), 16000, subtype="FLOAT")
    elif setup == "text":
        (place / "text.wav").write_text("not audio")
    elif setup == "escape":
        row = {"id": "../../escape", "audio": str(place / "mix.wav"), "captions": ["a dog"]}
        (place / "rows.jsonl").write_text(json.dumps(row) + "\n")
    elif setup in ("queries_empty", "queries_type", "caption_zw"):
        row = {"id": "a", "audio": str(place / "mix.wav"), "captions": ["a dog"]}
        row |= {"queries_empty": {"queries": ["a dog", " "]}, "queries_type": {"queries": 3},
                "caption_zw": {"captions": ["a\u200bdog"]}}[setup]  # fmt: skip
        (place / "rows.jsonl").write_text(json.dumps(row) + "\n")
    elif setup == "spans_exists":
        (place / "out" / "o.spans.json").write_text("{}")
    elif setup == "rest_exists":
        (place / "out" / "mix.rest.wav").write_bytes(b"keep me")
    elif setup == "outfile":
        (place / "outfile").write_bytes(b"a file")
        (place / "in").mkdir()
        shutil.copy(place / "mix.wav", place / "in" / "a.wav")


SEP = ["separate", "mix.wav", "-q", "a dog", "--model", "{tiny}"]
CASES = [
    # (case, args, setup, code, fragment)
    (
        "steps 0",
        [*SEP, "-o", "out/o.wav", "--steps", "0"],
        None,
        2,
        "--steps: must be at least 1 and at most 1000",
    ),
    ("steps -1", [*SEP, "-o", "out/o.wav", "--steps", "-1"], None, 2, "--steps: must be at least 1"),
    ("steps absurd", [*SEP, "-o", "out/o.wav", "--steps", "100000"], None, 2, "at most 1000"),
    ("steps 2.5", [*SEP, "-o", "out/o.wav", "--steps", "2.5"], None, 2, "--steps: expected an integer"),
    ("shift 0", [*SEP, "-o", "out/o.wav", "--shift", "0"], None, 2, "--shift: must be > 0"),
    ("guidance nan", [*SEP, "-o", "out/o.wav", "--guidance", "nan"], None, 2, "--guidance: must be a finite"),
    ("guidance inf", [*SEP, "-o", "out/o.wav", "--guidance", "inf"], None, 2, "--guidance: must be a finite"),
    (
        "source-noise nan",
        [*SEP, "-o", "out/o.wav", "--source-noise", "nan"],
        None,
        2,
        "must be a finite number",
    ),
    ("unknown flag", [*SEP, "-o", "out/o.wav", "--bogus"], None, 2, "unrecognized arguments: --bogus"),
    ("device name", [*SEP, "-o", "out/o.wav", "--device", "gpu7"], None, 2, "unknown device 'gpu7'"),
    pytest.param(
        "device cuda",
        [*SEP, "-o", "out/o.wav", "--device", "cuda"],
        None,
        2,
        "'cuda' is not available",
        marks=pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA"),
    ),  # fmt: skip
    ("-o a folder", [*SEP, "-o", "out"], None, 2, "is a folder: give a file name"),
    ("-o under a file", [*SEP, "-o", "mix.wav/o.wav"], None, 2, "is a file, not a folder"),
    pytest.param(
        "-o read-only folder",
        [*SEP, "-o", "ro/o.wav"],
        "readonly",
        2,
        "is not writable",
        marks=pytest.mark.skipif(ROOT, reason="root writes into read-only folders"),
    ),  # fmt: skip
    ("-o unknown format", [*SEP, "-o", "out/o.xyz"], None, 2, "not an audio file name we can write"),
    ("-o ./input", [*SEP, "-o", "./mix.wav", "--overwrite"], None, 2, "would replace an input file"),
    (
        "-o hard link",
        [*SEP, "-o", "out/same.wav", "--overwrite"],
        "hardlink",
        2,
        "would replace an input file",
    ),
    ("-o symlink", [*SEP, "-o", "out/link.wav", "--overwrite"], "symlink", 2, "would replace an input file"),
    (
        "--residual input",
        [*SEP, "-o", "out/o.wav", "--residual", "mix.wav"],
        None,
        2,
        "would replace an input",
    ),
    ("--residual = -o", [*SEP, "-o", "out/o.wav", "--residual", "out/o.wav"], None, 2, "is named twice"),
    ("-o fifo", [*SEP, "-o", "out/fifo.wav", "--overwrite"], "fifo", 2, "is not a regular file"),
    (
        "-o exists",
        [*SEP, "-o", "out/o.wav"],
        "existing",
        2,
        "exists: choose another name, or pass --overwrite",
    ),
    (
        "no vocoder",
        [*SEP, "-o", "out/o.wav", "--model", "{no_vocoder}", "--decoder", "vocoder"],
        None,
        2,
        "--decoder vocoder: the model",
    ),  # fmt: skip
    ("pickled encoder", [*SEP, "-o", "out/o.wav", "--model", "{pickle}"], None, 2, "pickled weights"),
    ("absurd config", [*SEP, "-o", "out/o.wav", "--model", "{absurd}"], None, 2, "num_layers = 1000000000"),
    (
        "missing model",
        [*SEP, "-o", "out/o.wav", "--model", "no/such/model"],
        None,
        2,
        "model folder not found",
    ),
    (
        "missing input",
        ["separate", "none.wav", "-q", "dog", "-o", "out/o.wav"],
        None,
        2,
        "audio file not found",
    ),
    (
        "empty input",
        ["separate", "empty.wav", "-q", "dog", "-o", "out/o.wav"],
        "empty",
        2,
        "the audio is empty",
    ),
    ("NaN input", ["separate", "nan.wav", "-q", "dog", "-o", "out/o.wav"], "nan", 2, "NaN or Inf"),
    (
        "not audio",
        ["separate", "text.wav", "-q", "dog", "-o", "out/o.wav"],
        "text",
        2,
        "cannot read audio file",
    ),
    (
        "empty query",
        ["separate", "mix.wav", "-q", " ", "-o", "out/o.wav"],
        None,
        2,
        "--query: the query is empty",
    ),
    (
        "empty --remove",
        ["separate", "mix.wav", "--remove", "", "-o", "out/o.wav"],
        None,
        2,
        "--remove: the query is empty",
    ),
    ("no query", ["separate", "mix.wav", "-o", "out/o.wav"], None, 2, "give at least one --query"),
    ("-q #2 empty", [*SEP, "-q", "\t", "-o", "out"], None, 2, "-q #2: the query holds a control character"),
    (
        "-q zero-width",
        ["separate", "mix.wav", "-q", "a\u200bdog", "-o", "out/o.wav"],
        None,
        2,
        "--query: the query holds an invisible formatting character (U+200B ZERO WIDTH SPACE)",
    ),  # fmt: skip
    ("-q control", ["separate", "mix.wav", "-q", "dog\x07", "-o", "out/o.wav"], None, 2, "U+0007"),
    ("-q #2 of --remove", [*SEP, "--remove", "\u2028", "-o", "out"], None, 2, "--remove #2: the query holds"),
    (
        "--remove an instruction",
        ["separate", "mix.wav", "--remove", "remove the dog", "-o", "out/o.wav"],
        None,
        2,
        "is already an instruction to remove",
    ),  # fmt: skip
    ("--exclude empty", [*SEP, "-o", "out/o.wav", "--exclude", ""], None, 2, "--exclude: the query is empty"),
    (
        "--exclude #2",
        [*SEP, "-o", "out/o.wav", "--exclude", "x", "--exclude", "\ufeff"],
        None,
        2,
        "--exclude #2: the query holds",
    ),  # fmt: skip
    (
        "several -o a file",
        [*SEP, "-q", "rain", "-o", "out/o.wav"],
        None,
        2,
        "with several queries, -o is a folder",
    ),
    (
        "several --residual",
        [*SEP, "-q", "rain", "-o", "out", "--residual", "out/r.wav"],
        None,
        2,
        "--residual is for one query",
    ),  # fmt: skip
    ("several rest exists", [*SEP, "-q", "rain", "-o", "out"], "rest_exists", 2, "mix.rest.wav exists"),
    ("query named rest", [*SEP, "-q", "rest", "-o", "out"], None, 2, "mix.rest.wav is named twice"),
    (
        "--spans-threshold nan",
        [*SEP, "-o", "out/o.wav", "--spans", "--spans-threshold", "nan"],
        None,
        2,
        "--spans-threshold: must be a finite number",
    ),  # fmt: skip
    (
        "--spans-min-duration -1",
        [*SEP, "-o", "out/o.wav", "--spans", "--spans-min-duration", "-1"],
        None,
        2,
        "--spans-min-duration: must be at least 0",
    ),  # fmt: skip
    (
        "--spans-min-gap word",
        [*SEP, "-o", "out/o.wav", "--spans", "--spans-min-gap", "x"],
        None,
        2,
        "--spans-min-gap: expected a number",
    ),  # fmt: skip
    (
        "threshold without --spans",
        [*SEP, "-o", "out/o.wav", "--spans-threshold", "3"],
        None,
        2,
        "--spans-threshold needs --spans",
    ),  # fmt: skip
    ("--spans file exists", [*SEP, "-o", "out/o.wav", "--spans"], "spans_exists", 2, "o.spans.json exists"),
    # fmt: skip
    ("queries no file", ["queries", "--model", "{tiny}"], None, 2, "records no training queries"),
    ("queries missing", ["queries", "--model", "no/such/model"], None, 2, "model folder not found"),
    (
        "batch queries empty",
        ["separate-batch", "rows.jsonl", "-o", "out"],
        "queries_empty",
        2,
        "rows.jsonl line 1, query #2: the query is empty",
    ),  # fmt: skip
    (
        "batch queries type",
        ["separate-batch", "rows.jsonl", "-o", "out"],
        "queries_type",
        2,
        "rows.jsonl line 1: 'queries' must be a list of strings, got 3",
    ),  # fmt: skip
    (
        "batch caption zero-width",
        ["separate-batch", "rows.jsonl", "-o", "out"],
        "caption_zw",
        2,
        "rows.jsonl line 1, caption: the query holds an invisible",
    ),  # fmt: skip
    (
        "batch -q #2",
        ["separate-batch", "rows.jsonl", "-o", "out", "-q", "a", "-q", " "],
        "escape",
        2,
        "-q #2: the query is empty",
    ),  # fmt: skip
    (
        "batch --remove instruction",
        ["separate-batch", "rows.jsonl", "-o", "out", "--remove", "no dog"],
        "escape",
        2,
        "--remove: 'no dog' is already an instruction",
    ),  # fmt: skip
    ("batch of a file", ["separate-batch", "mix.wav", "-o", "out", "-q", "dog"], None, 2, "is an audio file"),
    (
        "batch escape",
        ["separate-batch", "rows.jsonl", "-o", "out"],
        "escape",
        2,
        "rows.jsonl:1: out/a-dog/../../escape.wav would be written outside the output folder",
    ),  # fmt: skip
    (
        "batch -o a file",
        ["separate-batch", "in", "-o", "outfile", "-q", "dog"],
        "outfile",
        2,
        "outfile is a file",
    ),
    ("batch overlap", ["separate-batch", ".", "-o", "out", "-q", "dog"], None, 2, "overlap"),
    ("batch empty query", ["separate-batch", "rows.jsonl", "-o", "out", "-q", ""], "escape", 2, "is empty"),
    ("demo -o a file", ["demo", "-o", "mix.wav"], None, 2, "exists and is not a folder"),
]


@pytest.mark.parametrize(
    "case, args, setup, code, fragment",
    CASES,
    ids=[c.values[0] if hasattr(c, "marks") else c[0] for c in CASES],
)
def test_hostile_input_gets_one_clear_error_before_any_work(models, place, case, args, setup, code, fragment):
    if setup:
        setup_case(place, setup)
    before, source = snapshot(place), (place / "mix.wav").read_bytes()
    args = [arg.format(**{key: str(value) for key, value in models.items()}) for arg in args]
    result = run_cli(args, place)
    assert result.returncode == code, result.stderr
    assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.strip().startswith("flowsep")
    assert (place / "mix.wav").read_bytes() == source
    assert snapshot(place) == before  # nothing written, in the output folder or elsewhere


@pytest.mark.parametrize(
    "argvs, heavy",
    [
        (
            [
                ["separate", "m.wav", "-q", "x", "-o", "o.wav", "--steps", "0"],
                ["--bogus"],
                ["separate", "m.wav", "-q", " ", "-q", "a\u200bb"],
                ["separate-batch", "m.jsonl", "-o", "o", "-q", ""],
                ["queries", "--model", "no/such"],
            ],  # fmt: skip
            ("torch", "transformers", "diffusers"),
        ),
        ([["--help"], ["app", "--help"]], ("gradio", "torch")),
    ],
)
def test_help_and_flag_errors_do_not_import_heavy_libraries(argvs, heavy):
    script = (
        "import sys\nfrom flowsep.cli import main\n"
        f"for argv in {argvs!r}:\n    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.strip().endswith("[]"), result.stdout + result.stderr


def write_stereo_44k(path: Path):
    """2 s of 44.1 kHz stereo in 32-bit float: a tone on the left, noise on the right."""
    rng = np.random.default_rng(1)
    t = np.arange(44100 * 2) / 44100
    stereo = np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.1 * rng.standard_normal(t.size)], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, stereo.astype(np.float32), 44100, subtype="FLOAT")


def test_stereo_44k_comes_back_stereo_44k(models, place):
    write_stereo_44k(place / "stereo.wav")
    args = ["separate", str(place / "stereo.wav"), "-q", "a tone", "-o", str(place / "out/t.wav"),
            "--residual", str(place / "out/r.wav"), "--model", str(models["tiny"]), "--steps", "1"]  # fmt: skip
    assert main(args) == 0
    source, rate = sf.read(place / "stereo.wav", dtype="float32")
    target, target_rate = sf.read(place / "out/t.wav", dtype="float32")
    residual, residual_rate = sf.read(place / "out/r.wav", dtype="float32")
    assert rate == target_rate == residual_rate == 44100
    assert target.shape == residual.shape == source.shape == (88200, 2)
    assert np.abs(target + residual - source).max() < 1e-4
    assert sf.info(place / "out/t.wav").subtype == "FLOAT"  # the input's sample format
    assert main(["separate", str(place / "stereo.wav"), "-q", "a tone", "-o", str(place / "out/m.wav"),
                 "--model", str(models["tiny"]), "--steps", "1", "--model-rate"]) == 0  # fmt: skip
    mono, mono_rate = sf.read(place / "out/m.wav")
    assert mono_rate == 16000 and mono.ndim == 1 and len(mono) == 32000


def test_batch_stereo_44k_comes_back_stereo_44k(models, place):
    """``separate-batch`` as ``separate`` above: a 44.1 kHz stereo file comes back at 44.1 kHz in stereo and
    its sample format, target + residual == input, and ``--model-rate`` gives mono at 16 kHz. Guards against
    batch outputs written at the model's rate or channel count, or with the residual of the mono down-mix."""
    write_stereo_44k(place / "in" / "stereo.wav")
    source, rate = sf.read(place / "in" / "stereo.wav", dtype="float32")
    args = [
        "separate-batch",
        str(place / "in"),
        "-q",
        "a tone",
        "--model",
        str(models["tiny"]),
        "--steps",
        "1",
    ]
    assert main([*args, "-o", str(place / "out"), "--residual"]) == 0
    target, target_rate = sf.read(place / "out" / "a-tone" / "stereo.wav.wav", dtype="float32")
    residual, residual_rate = sf.read(place / "out" / "a-tone" / "stereo.wav.residual.wav", dtype="float32")
    assert rate == target_rate == residual_rate == 44100
    assert target.shape == residual.shape == source.shape == (88200, 2)
    assert np.abs(target + residual - source).max() < 1e-4
    assert sf.info(place / "out" / "a-tone" / "stereo.wav.wav").subtype == "FLOAT"
    assert main([*args, "-o", str(place / "mono"), "--model-rate"]) == 0
    mono, mono_rate = sf.read(place / "mono" / "a-tone" / "stereo.wav.wav")
    assert mono_rate == 16000 and mono.ndim == 1 and len(mono) == 32000


def test_pipeline_input_format_and_short_inputs(models):
    from flowsep.loading import load_pipeline

    pipe = load_pipeline(models["tiny"], "cpu")
    stereo = np.random.default_rng(2).standard_normal((2, 22050)).astype(np.float32) * 0.1
    out = pipe(
        "dog", stereo, sample_rate=22050, num_inference_steps=1, return_residual=True, output_format="input"
    )
    assert out.sample_rate == 22050 and out.audios.shape == (1, 2, 22050)
    assert np.abs(out.audios + out.residuals - stereo[None]).max() < 1e-5
    for length in (1, 100, 432, 512, 513):  # under one STFT frame: padded and trimmed, never a crash
        short = stereo[:, :length]
        for output_format in ("model", "input"):
            result = pipe("dog", short, sample_rate=16000, num_inference_steps=1, output_format=output_format)
            assert result.audios.shape[-1] == length and np.isfinite(result.audios).all()


def test_batch_names_never_collide_and_resume_is_keyed_on_settings(models, place, capsys):
    folder = place / "in"
    folder.mkdir()
    wave = np.random.default_rng(3).standard_normal(8000).astype(np.float32) * 0.1
    sf.write(folder / "x.wav", wave, 16000)
    sf.write(folder / "x.flac", wave, 16000)
    sf.write(folder / "tiny.wav", wave[:300], 16000)  # under one STFT frame
    (folder / "broken.wav").write_text("not audio")
    out = place / "out"
    queries = ["狗在叫", "鳥のさえずり", "Dog!", "dog", "rain"]
    args = ["separate-batch", str(folder), "-o", str(out), "--model", str(models["tiny"]), "--steps", "1"]
    args += [flag for query in queries for flag in ("-q", query)]
    assert main(args) == 1  # the broken file is reported, the others done
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.wav"))
    assert len(written) == 3 * len(queries) == len(set(written))
    assert "rain/x.flac.wav" in written and "rain/x.wav.wav" in written and "rain/tiny.wav.wav" in written
    assert len({Path(name).parent for name in written}) == len(queries)  # one folder per query
    assert "skipped" in capsys.readouterr().out
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")}
    assert main(args) == 1 and {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")} == stamps  # resumed
    capsys.readouterr()
    assert main([*args, "--steps", "2"]) == 2  # other settings: refused before any work
    assert "other settings (steps 1 -> 2)" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")} == stamps
    assert main([*args, "--steps", "2", "--overwrite"]) == 1
    record = json.loads((out / "rain" / "x.wav.json").read_text())
    assert record["settings"]["steps"] == 2 and record["query"] == "rain"


def test_batch_remove_takes_queries_like_separate(models, place):
    folder = place / "in"
    folder.mkdir()
    shutil.copy(place / "mix.wav", folder / "a.wav")
    out = place / "out"
    args = ["--model", str(models["tiny"]), "--steps", "1"]
    assert (
        main(["separate-batch", str(folder), "-o", str(out), "--remove", "a dog", "--residual", *args]) == 0
    )
    removed, kept = sf.read(out / "a-dog" / "a.wav.wav")[0], sf.read(out / "a-dog" / "a.wav.residual.wav")[0]
    assert np.abs(removed + kept - sf.read(place / "mix.wav")[0]).max() < 2e-4


def test_ctrl_c_ends_with_one_line(monkeypatch, place, capsys):
    from flowsep.commands import separate

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(separate, "run", interrupted)
    assert main(["separate", str(place / "mix.wav"), "-q", "dog", "-o", str(place / "out/o.wav")]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err and err.strip().count("\n") == 0


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"num_inference_steps": 2.5}, "num_inference_steps must be an integer"),
        ({"num_inference_steps": 10**6}, "at most 1000"),
        ({"window_batch_size": 0}, "window_batch_size must be >= 1"),
        ({"guidance_scale": float("inf")}, "guidance_scale must be a finite number"),
        ({"source_noise": float("nan")}, "source_noise must be a finite number"),
        ({"output_format": "user"}, "unknown output_format"),
    ],
)
def test_api_arguments_are_checked(tiny_pipe, kwargs, fragment):
    from flowsep.errors import UsageError

    with pytest.raises(UsageError, match=fragment):
        tiny_pipe("dog", np.zeros(1600, np.float32), sample_rate=16000, **kwargs)


def test_api_array_conventions():
    from flowsep.audio import load_audio
    from flowsep.errors import AudioInputError

    centred = load_audio(np.full(1600, 128, np.uint8), 16000)  # offset binary: 128 is silence
    assert centred.abs().max() == 0
    channels_last = np.random.default_rng(0).standard_normal((1600, 2)).astype(np.float32)
    assert load_audio(channels_last, 16000).shape == (1600,)
    with pytest.raises(AudioInputError, match="more than 16 channels either way"):
        load_audio(np.zeros((1600, 32), np.float32), 16000)
