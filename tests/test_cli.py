"""`flowsep separate` end to end on a saved tiny pipeline."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from flowsep.cli import main


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


def test_source_noise_option_is_accepted_and_checked(saved_tiny_pipe, mixture_wav, tmp_path, capsys):
    args = ["separate", str(mixture_wav), "-q", "dog", "--model", str(saved_tiny_pipe), "--steps", "1"]
    assert main([*args, "-o", str(tmp_path / "a.wav"), "--source-noise", "0"]) == 0
    with pytest.raises(SystemExit):
        main([*args, "-o", str(tmp_path / "b.wav"), "--source-noise", "-1"])
    assert "must be >= 0" in capsys.readouterr().err and not (tmp_path / "b.wav").exists()


def test_empty_query_and_missing_model(mixture_wav, tmp_path, capsys):
    assert main(["separate", str(mixture_wav), "-q", " ", "-o", str(tmp_path / "o.wav"), "--model", str(tmp_path)]) == 2
    assert "query 0 is empty" in capsys.readouterr().err
    assert main(["separate", str(mixture_wav), "-q", "dog", "-o", str(tmp_path / "o.wav"), "--model", str(tmp_path)]) == 2
    assert "model_index.json" in capsys.readouterr().err


def test_separate_batch_resumes_and_skips_bad_files(saved_tiny_pipe, mixture_wav, tmp_path):
    import shutil

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
    assert "a-dog-barking/a.wav" in written and "rain/sub/b.flac.residual.wav" in written
    assert len(written) == 8
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")}
    main(args)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")} == stamps
