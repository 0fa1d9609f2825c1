"""Every command that writes changes only what the user named: each runs once (successfully) in a work folder,
and a listing of the whole folder with hashes, before and after, is the same outside the named output. Also:
``--force`` and ``--overwrite`` delete only what the command made, ``--trim`` is recorded, and names that differ
only in case are two outputs where the file system tells case apart.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import outside, snapshot

from flowsep.cli import main
from flowsep.commands.outputs import ignores_case

RECIPE = str(Path(__file__).resolve().parent.parent / "recipes" / "tiny" / "vae.yaml")


def writes_only(place: Path, named: Path, argv: list[str]) -> dict:
    """Run ``argv``; assert it succeeded, that ``named`` exists and nothing outside it changed; returns the
    listing before."""
    before = snapshot(place)
    assert main(argv) == 0, argv
    assert named.exists() and outside(snapshot(place), named) == outside(before, named)
    return before


def test_writing_commands_change_nothing_outside_their_outputs(place_with_model):
    place, model = place_with_model
    corpus, bench, run = place / "corpus", place / "bench", place / "run"
    writes_only(place, corpus, ["toy-corpus", str(corpus), "--clips-per-sound", "2", "--seconds", "0.5"])

    header = "file_name,caption_1,caption_2,caption_3,caption_4,caption_5\n"
    (place / "clotho").mkdir()
    (place / "clotho" / "clotho_captions_evaluation.csv").write_text(header + "a.wav,a,b,c,d,e\n")
    sf.write(place / "clotho" / "a.wav", np.zeros(800), 16000)
    manifest = place / "clotho.jsonl"
    writes_only(place, manifest, ["build-manifest", "clotho", str(place / "clotho"), str(manifest)])

    build = ["build-benchmark", "manifest", str(corpus / "valid.jsonl"), str(bench), "--count", "2", "--snr", "0", "0",
             "--segment-seconds", "0.5"]  # fmt: skip
    writes_only(place, bench, build)
    (bench / "mixture" / "mine.wav").write_bytes(b"not the benchmark's")  # --force removes only its own files
    (bench / "notes.md").write_text("mine")
    writes_only(place, bench, [*build, "--force"])
    assert (bench / "mixture" / "mine.wav").read_bytes() == b"not the benchmark's"
    assert (bench / "notes.md").read_text() == "mine"

    evaluate = ["evaluate", "-b", str(bench), "--model", str(model), "--steps", "1", "--figures", "1"]
    writes_only(place, run, [*evaluate, "-o", str(run)])

    short = (
        place / "short"
    )  # a reference shorter than its mixture: scored with --trim, and the settings say so
    writes_only(place, short, ["build-benchmark", *build[1:3], str(short), *build[4:]])
    reference = short / "reference" / "manifest-00000.wav"
    sf.write(reference, sf.read(reference)[0][:4000], 16000, subtype="PCM_16")
    writes_only(
        place, place / "run-trim", [*evaluate, "-b", str(short), "-o", str(place / "run-trim"), "--trim"]
    )
    assert json.loads((place / "run-trim" / "settings.json").read_text())["trim"] is True

    data = [f"data.train=[{corpus / 'train.jsonl'}]", f"data.valid=[{corpus / 'valid.jsonl'}]"]
    vae = place / "vae"
    writes_only(place, vae, ["train", RECIPE, "--set", data[0], "--set", data[1], "--output-dir", str(vae),
                             "--max-steps", "1"])  # fmt: skip


@pytest.fixture
def place_with_model(tmp_path, saved_tiny_pipe):
    """A work folder, and a tiny model folder outside it; accelerate's process state is reset afterwards (the
    commands ran in this process)."""
    from accelerate.state import AcceleratorState, GradientState

    (tmp_path / "place").mkdir()
    yield tmp_path / "place", saved_tiny_pipe
    AcceleratorState._reset_state(True)
    GradientState._reset_state()


def test_convert_replaces_only_its_folder(tmp_path, monkeypatch, capsys):
    from flowsep.conversion import official
    from flowsep.conversion.synthetic import TINY, write_synthetic_checkpoint

    monkeypatch.setattr(official, "OfficialArchitecture", lambda: TINY["architecture"])
    checkpoint, text_dir = write_synthetic_checkpoint(tmp_path / "src", TINY)
    out = tmp_path / "OUT"
    out.mkdir()
    (tmp_path / ".OUT.old" / "keep").mkdir(parents=True)  # a sibling the conversion did not make
    (tmp_path / ".OUT.old" / "keep" / "f").write_text("mine")
    argv = ["convert", "official-flowsep", str(checkpoint), str(out), "--text-encoder", str(text_dir)]
    writes_only(tmp_path, out, argv)
    assert (out / "model_index.json").is_file()
    writes_only(tmp_path, out, [*argv, "--overwrite"])
    assert (tmp_path / ".OUT.old" / "keep" / "f").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".OUT.old", "OUT", "src"]  # no staging left


def test_names_that_differ_in_case_are_two_outputs(tmp_path, saved_tiny_pipe):
    if ignores_case(tmp_path):
        pytest.skip("this file system ignores case: UPPER.WAV and upper.wav are one file")
    folder = tmp_path / "in"
    folder.mkdir()
    wave = (0.1 * np.random.default_rng(0).standard_normal(8000)).astype(np.float32)
    sf.write(folder / "UPPER.WAV", wave, 16000)
    sf.write(folder / "upper.wav", wave, 16000)
    out = tmp_path / "out"
    argv = ["separate-batch", str(folder), "-o", str(out), "-q", "noise", "--model", str(saved_tiny_pipe)]
    writes_only(tmp_path, out, [*argv, "--steps", "1"])
    assert sorted(p.name for p in (out / "noise").glob("*.wav")) == ["UPPER.WAV.wav", "upper.wav.wav"]
