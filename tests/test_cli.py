"""The ``flowsep`` command: sub-commands, flag and output-path errors, the default model and its packaging."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from flowsep.cli import build_parser, main
from flowsep.errors import OutputPathError, UsageError
from flowsep.loading import DEFAULT_MODEL_DIR, PACKAGE_DIR, check_model_folder, default_model

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = (
    "separate", "separate-batch", "demo", "evaluate", "build-benchmark", "build-manifest", "toy-corpus", "train",
    "convert", "app", "queries",
)  # fmt: skip


def subcommands() -> dict:
    parser = build_parser()
    return next(action.choices for action in parser._actions if hasattr(action, "choices") and action.choices)


def test_every_tool_is_a_subcommand_with_help(capsys):
    assert tuple(subcommands()) == COMMANDS
    for command in COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: flowsep {command}")


def test_documented_commands_exist():
    text = "\n".join(
        block
        for name in ("README.md", "eval/README.md")
        for block in (ROOT / name).read_text().split("```")[1::2]
    )
    for command in re.findall(r"^\s*(?:accelerate launch .*?-m flowsep\.cli |flowsep )([a-z-]+)", text, re.M):
        assert command in COMMANDS, command
    for module in re.findall(r"-m (flowsep[\w.]*)", text):
        path = ROOT / module.replace(".", "/")
        assert path.with_suffix(".py").is_file() or (path / "__main__.py").is_file(), module


def test_separate_writes_target_and_residual(saved_tiny_pipe, mixture_wav, tmp_path):
    out, rest = tmp_path / "dog.wav", tmp_path / "rest.wav"
    code = main(["separate", str(mixture_wav), "--query", "a dog barking", "-o", str(out), "--residual", str(rest),
                 "--model", str(saved_tiny_pipe), "--steps", "2", "--solver", "heun"])  # fmt: skip
    assert code == 0
    mix, _ = sf.read(mixture_wav)
    target, rate = sf.read(out)
    residual, _ = sf.read(rest)
    assert rate == 16000 and target.shape == mix.shape
    assert np.abs(target + residual - mix).max() < 2e-4  # 16-bit files


def test_remove_swaps_the_outputs(saved_tiny_pipe, mixture_wav, tmp_path):
    keep, removed = tmp_path / "keep.wav", tmp_path / "removed.wav"
    args = ["--model", str(saved_tiny_pipe), "--steps", "1"]
    main(["separate", str(mixture_wav), "--query", "a dog barking", "-o", str(keep), *args])
    main(["separate", str(mixture_wav), "--remove", "a dog barking", "-o", str(removed), *args])
    mix, _ = sf.read(mixture_wav)
    assert np.abs(sf.read(keep)[0] + sf.read(removed)[0] - mix).max() < 2e-4


def test_errors_are_one_line_without_traceback(saved_tiny_pipe, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "flowsep.cli", "separate", str(tmp_path / "missing.wav"), "-q", "dog",
         "-o", str(tmp_path / "o.wav"), "--model", str(saved_tiny_pipe)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert "audio file not found" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o.wav").exists()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--steps", "0"], "argument --steps: must be at least 1"),
        (["--source-noise", "-1"], "argument --source-noise: must be at least 0 and at most 100"),
        (["--solver", "rk4"], "argument --solver: invalid choice"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_flag_errors_raise_usage_error_in_one_line(mixture_wav, tmp_path, capsys, flags, message):
    args = ["separate", str(mixture_wav), "-q", "dog", "-o", str(tmp_path / "o.wav"), *flags]
    with pytest.raises(UsageError, match=message):
        build_parser().parse_args(args)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "o.wav").exists()


def test_flag_error_exit_code_from_the_shell(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "flowsep.cli", "evaluate", "-b", "x", "-o", str(tmp_path), "--batch-size", "0"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "--batch-size: must be at least 1" in result.stderr and "flowsep evaluate --help" in result.stderr


def test_existing_output_is_kept_unless_overwrite(saved_tiny_pipe, mixture_wav, tmp_path, capsys):
    out = tmp_path / "dog.wav"
    out.write_bytes(b"keep me")
    args = [
        "separate",
        str(mixture_wav),
        "-q",
        "dog",
        "-o",
        str(out),
        "--model",
        str(saved_tiny_pipe),
        "--steps",
        "1",
    ]
    parsed = build_parser().parse_args(args)
    with pytest.raises(OutputPathError, match="exists"):
        parsed.func(parsed)
    assert main(args) == 2 and "pass --overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    assert main([*args, "--overwrite"]) == 0 and sf.read(out)[1] == 16000


@pytest.mark.parametrize("output, residual", [("mix", "rest"), ("out", "mix")])
def test_output_never_replaces_the_input(mixture_wav, tmp_path, capsys, output, residual):
    before, name = mixture_wav.read_bytes(), {"mix": str(mixture_wav), "out": "o.wav", "rest": "r.wav"}
    args = ["separate", str(mixture_wav), "-q", "dog", "-o", name[output], "--residual", name[residual]]
    assert main([*args, "--overwrite", "--model", str(tmp_path / "no-model")]) == 2
    assert "would replace an input" in capsys.readouterr().err and mixture_wav.read_bytes() == before


def test_output_needs_an_audio_suffix(mixture_wav, tmp_path, capsys):
    assert main(["separate", str(mixture_wav), "-q", "dog", "-o", str(tmp_path / "dog.txt")]) == 2
    assert "not an audio file name" in capsys.readouterr().err


def test_empty_query_and_missing_model(mixture_wav, tmp_path, capsys):
    assert (
        main(
            ["separate", str(mixture_wav), "-q", " ", "-o", str(tmp_path / "o.wav"), "--model", str(tmp_path)]
        )
        == 2
    )
    assert "--query: the query is empty" in capsys.readouterr().err
    assert (
        main(
            [
                "separate",
                str(mixture_wav),
                "-q",
                "dog",
                "-o",
                str(tmp_path / "o.wav"),
                "--model",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "model_index.json" in capsys.readouterr().err


def test_separate_batch_resumes_and_skips_bad_files(saved_tiny_pipe, mixture_wav, tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(mixture_wav, folder / "a.wav")
    shutil.copy(mixture_wav, folder / "sub" / "b.flac.wav")
    (folder / "broken.wav").write_bytes(b"not audio")
    out = tmp_path / "out"
    args = ["separate-batch", str(folder), "-o", str(out), "-q", "a dog barking", "-q", "rain",
            "--model", str(saved_tiny_pipe), "--steps", "1", "--residual"]  # fmt: skip
    assert main(args) == 1  # one unreadable file, reported
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.wav"))
    assert "a-dog-barking/a.wav.wav" in written and "rain/sub/b.flac.wav.residual.wav" in written
    assert len(written) == 8 and (out / "rain" / "a.wav.json").is_file()  # with the record of what made it
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")}
    main(args)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")} == stamps


def test_separate_batch_output_paths_are_checked(mixture_wav, tmp_path, capsys):
    assert main(["separate-batch", str(tmp_path), "-o", str(tmp_path / "out"), "-q", "dog"]) == 2
    assert "overlap" in capsys.readouterr().err
    manifest = tmp_path / "clips.jsonl"
    row = {"id": "../../escape", "audio": str(mixture_wav), "captions": ["a dog"], "labels": []}
    manifest.write_text(json.dumps(row) + "\n")
    assert main(["separate-batch", str(manifest), "-o", str(tmp_path / "out")]) == 2
    assert "outside the output folder" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_toy_corpus_command(tmp_path, capsys):
    """Guards the command's plan: the clip count and length reach the corpus, each file is named once, a rerun
    is refused (naming a file and the count) unless --overwrite."""
    from flowsep.data.manifest import read_manifest
    from flowsep.training.toy_corpus import corpus_files

    args = ["toy-corpus", str(tmp_path), "--clips-per-sound", "4", "--seconds", "0.1"]
    assert main(args) == 0
    files = corpus_files(tmp_path, 4)
    manifests = [tmp_path / "train.jsonl", tmp_path / "valid.jsonl"]
    assert capsys.readouterr().out.splitlines() == [f"wrote {path}" for path in manifests]
    assert (tmp_path / "train.jsonl").is_file() and (tmp_path / "valid.jsonl").is_file()
    records = read_manifest(tmp_path / "train.jsonl") + read_manifest(tmp_path / "valid.jsonl")
    assert len(records) == len(corpus_files(tmp_path, 4)) - 2 and {r.duration for r in records} == {0.1}
    assert main(args) == 2
    error = capsys.readouterr().err
    assert f"{files[0]} exists ({len(files)} of the corpus's files do): pass --overwrite" in error
    assert main([*args, "--overwrite"]) == 0
    assert main(["toy-corpus", str(tmp_path / "fresh"), "--seconds", "0.1"]) == 0  # 3 clips per sound
    fresh = read_manifest(tmp_path / "fresh" / "train.jsonl") + read_manifest(
        tmp_path / "fresh" / "valid.jsonl"
    )
    assert len(fresh) == len(corpus_files(tmp_path / "fresh", 3)) - 2


def test_build_manifest_command_checks_its_pattern_and_output(tmp_path, capsys):
    """Guards build-manifest's checks: a pattern outside the root, a manifest that exists (unless --overwrite), a
    CSV under the dataset root (never replaced); and that --audio-glob reaches the reader."""
    header = "file_name,caption_1,caption_2,caption_3,caption_4,caption_5\n"
    (tmp_path / "clotho_captions_development.csv").write_text(header + "rain.wav,r1,r2,r3,r4,r5\n")
    (tmp_path / "development").mkdir()
    sf.write(tmp_path / "development" / "rain.wav", np.zeros(1600, np.float32), 16000)
    out = tmp_path.parent / f"{tmp_path.name}-clotho.jsonl"
    for pattern in ("/abs/*.wav", "../*.wav", "a/../../*.wav"):
        assert main(["build-manifest", "clotho", str(tmp_path), str(out), "--audio-glob", pattern]) == 2
        assert (
            f"--audio-glob {pattern}: give a pattern relative to the root, inside it"
            in capsys.readouterr().err
        )
    assert main(["build-manifest", "clotho", str(tmp_path), str(out), "--audio-glob", "nothing/*"]) == 2
    assert "no clotho clips found" in capsys.readouterr().err  # the pattern reached the reader
    assert main(["build-manifest", "clotho", str(tmp_path), str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    assert main(["build-manifest", "clotho", str(tmp_path), str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["build-manifest", "clotho", str(tmp_path), str(out), "--overwrite"]) == 0
    metadata = tmp_path / "clotho_captions_development.csv"
    for name in (metadata, tmp_path / "OTHER.CSV"):
        name.touch()
        assert main(["build-manifest", "clotho", str(tmp_path), str(name), "--overwrite"]) == 2
        error = capsys.readouterr().err
        assert (
            f"{name} is a CSV file under the dataset root, which may be the dataset's own metadata" in error
        )
    assert metadata.read_text().startswith("file_name")


def test_build_manifest_command_reports_a_missing_root(tmp_path, capsys):
    assert main(["build-manifest", "audiocaps", str(tmp_path / "none"), str(tmp_path / "m.jsonl")]) == 2
    assert "dataset root is not a folder" in capsys.readouterr().err


def test_default_model_resolves(monkeypatch):
    monkeypatch.delenv("FLOWSEP_MODEL", raising=False)
    assert Path(default_model()) == DEFAULT_MODEL_DIR
    check_model_folder(DEFAULT_MODEL_DIR)  # a complete FlowSepPipeline folder
    assert DEFAULT_MODEL_DIR in (
        PACKAGE_DIR / "checkpoints" / "flowsep-mini",
        ROOT / "checkpoints" / "flowsep-mini",
    )
    monkeypatch.setenv("FLOWSEP_MODEL", "/elsewhere")
    assert default_model() == "/elsewhere"


def test_wheel_packages_cover_the_tree():
    """setup.cfg lists the packages (one is mapped onto checkpoints/): a new subpackage must be added there.
    pyproject.toml holds the build system and tools only: no metadata in both files."""
    import configparser

    tomllib = pytest.importorskip("tomllib")
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    packages = config["options"]["packages"].split()
    found = {
        ".".join(folder.relative_to(ROOT).parts)
        for folder in [ROOT / "flowsep", *(ROOT / "flowsep").rglob("*")]
        if folder.is_dir() and folder.name != "__pycache__"
    }
    missing = sorted(found - set(packages))
    assert not missing, f"add {missing} to [options] packages in setup.cfg"
    assert config["options"]["package_dir"].split() == ["flowsep.checkpoints", "=", "checkpoints"]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "project" not in pyproject and "setuptools" not in pyproject.get("tool", {})
    assert (
        config["metadata"]["name"] == "flowsep"
        and "flowsep-mini/*" in config["options.package_data"]["flowsep.checkpoints"]
    )
    assert (ROOT / "checkpoints" / "flowsep-mini" / "model_index.json").is_file()


def test_command_summaries_and_choices_match_the_library():
    """cli.COMMANDS and flowsep.choices are light copies (for a fast --help): they must not drift."""
    from flowsep import choices
    from flowsep.cli import COMMANDS
    from flowsep.evaluation.kinds import KINDS
    from flowsep.loading import DTYPES
    from flowsep.metrics import DEFAULT_CLAP_CHECKPOINT, METRICS
    from flowsep.metrics.fad import BACKBONE_SAMPLE_RATES
    from flowsep.schedulers import SOLVERS

    action = next(action for action in build_parser()._actions if hasattr(action, "_choices_actions"))
    assert {choice.dest: choice.help for choice in action._choices_actions} == COMMANDS
    assert set(choices.SOLVERS) == set(SOLVERS) and set(choices.DTYPES) == set(DTYPES)
    assert set(choices.METRICS) == set(METRICS) and set(choices.FAD_BACKBONES) == set(BACKBONE_SAMPLE_RATES)
    assert choices.DEFAULT_CLAP_CHECKPOINT == DEFAULT_CLAP_CHECKPOINT
    assert choices.BENCHMARK_KINDS == KINDS


def test_offline_metric_weights_fail_in_seconds(tmp_path, monkeypatch, capsys):
    import time

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    args = ["evaluate", "-b", str(tmp_path), "-o", str(tmp_path / "run"), "--metrics", "clap",
            "--clap-checkpoint", "nobody/no-such-clap"]  # fmt: skip
    assert main(args) == 2
    assert "not in the Hugging Face cache and the hub cannot be reached" in capsys.readouterr().err
    assert time.perf_counter() - start < 30


def test_span_files_sit_beside_each_output_and_replace_no_input(tmp_path):
    """Guards --spans' files: x.spans.json and x.spans.csv beside each x.wav; one that is an input, or exists
    without --overwrite, is refused with its name."""
    from flowsep.commands.separate import check_span_files, span_files
    from flowsep.errors import OutputPathError

    files = span_files([tmp_path / "a.wav", tmp_path / "out" / "b.wav"])
    assert files == [tmp_path / "a.spans.json", tmp_path / "a.spans.csv", tmp_path / "out/b.spans.json",
                     tmp_path / "out/b.spans.csv"]  # fmt: skip
    check_span_files(files, [tmp_path / "mix.wav"], overwrite=False)
    files[1].write_text("start,end\n")
    with pytest.raises(
        OutputPathError, match=rf"^{files[1]} exists: choose another name, or pass --overwrite"
    ):
        check_span_files(files, [tmp_path / "mix.wav"], overwrite=False)
    check_span_files(files, [tmp_path / "mix.wav"], overwrite=True)
    with pytest.raises(
        OutputPathError, match=rf"^{files[1]} would replace an input file: choose another output"
    ):
        check_span_files(files, [files[1]], overwrite=True)


def test_demo_writes_each_query_at_the_models_rate_seeded_and_says_where(saved_tiny_pipe, tmp_path, capsys,
                                                                         monkeypatch):  # fmt: skip
    """Guards the demo's plan: the example read at the model's rate, per query the mixture, target, residual and
    figure written and named on one line, the sampling seeded by --seed; a file as -o is refused by name."""
    import flowsep.audio
    from flowsep.commands.demo import ASSETS

    loads, load_audio = [], flowsep.audio.load_audio
    monkeypatch.setattr(flowsep.audio, "load_audio", lambda *a, **k: loads.append(k) or load_audio(*a, **k))
    example = json.loads((ASSETS / "demo.json").read_text())
    args = ["demo", "--model", str(saved_tiny_pipe), "--steps", "1"]
    assert main([*args, "-o", str(tmp_path / "a")]) == 0
    assert loads == [{"target_sample_rate": 16000}]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"mixture: {example['description']}" and len(lines) == 1 + len(example["queries"])
    for line, query in zip(lines[1:], example["queries"]):
        stem = tmp_path / "a" / "-".join(query.lower().split())
        assert line == f"'{query}': {stem}_target.wav, {stem}_residual.wav, {stem}.png"
        assert all(Path(f"{stem}{end}").is_file() for end in ("_mixture.wav", "_target.wav", "_residual.wav"))
    target = "a-man-speaking_target.wav"
    assert main([*args, "-o", str(tmp_path / "b")]) == 0
    assert (tmp_path / "a" / target).read_bytes() == (tmp_path / "b" / target).read_bytes()
    assert main([*args, "-o", str(tmp_path / "c"), "--seed", "1"]) == 0
    assert (tmp_path / "a" / target).read_bytes() != (tmp_path / "c" / target).read_bytes()
    (tmp_path / "file").write_text("x")
    capsys.readouterr()
    assert main([*args, "-o", str(tmp_path / "file")]) == 2
    assert f"{tmp_path / 'file'} exists and is not a folder: give a folder" in capsys.readouterr().err


def test_build_benchmark_checks_ranges_and_files_then_builds_its_spec(tmp_path, capsys, monkeypatch):
    """Guards build-benchmark's checks (a range whose LO is above HI, a missing source, --clip-list or --csv,
    each named by its flag) and the spec it builds from the flags (ranges as tuples)."""
    import flowsep.evaluation.kinds

    manifest = tmp_path / "clips.jsonl"
    manifest.write_text("")
    out = str(tmp_path / "bench")
    base = ["build-benchmark", "manifest", str(manifest), out]
    cases = [
        (["--snr", "5", "-5"], "--snr 5 -5: LO must not be above HI"),
        (["--loudness", "-20", "-30.5"], "--loudness -20 -30.5: LO must not be above HI"),
        (["--clip-list", str(tmp_path / "ids.txt")], f"--clip-list {tmp_path / 'ids.txt'}: file not found"),
        (["--csv", str(tmp_path / "index.csv")], f"--csv {tmp_path / 'index.csv'}: file not found"),
    ]
    for flags, message in cases:
        assert main([*base, *flags]) == 2
        assert f"flowsep build-benchmark: error: {message}\n" == capsys.readouterr().err
    assert main(["build-benchmark", "manifest", str(tmp_path / "none.jsonl"), out]) == 2
    assert f"dataset source not found: {tmp_path / 'none.jsonl'}" in capsys.readouterr().err
    built = []
    monkeypatch.setattr(flowsep.evaluation.kinds, "build_benchmark", lambda spec: built.append(spec) or out)
    assert main([*base, "--snr", "-5", "5", "--count", "7", "--seed", "3"]) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    (spec,) = built
    assert (spec.kind, spec.source, spec.out, spec.count, spec.seed) == ("manifest", str(manifest), out, 7, 3)
    assert spec.snr == (-5.0, 5.0) and spec.loudness is None
