"""Queries as people say them: instructions parsed, several queries in one pass that add up to the input,
spans where the sound is, and what a model was trained on."""

import json
import re
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch

from flowsep.cli import build_parser, main
from flowsep.commands.queries import FORMS
from flowsep.errors import QueryError, UsageError
from flowsep.queries import check_query, check_query_list, parse_query, training_queries
from flowsep.spans import SpanOptions, find_spans, spans_csv


@pytest.mark.parametrize(
    "query, operation, target, exclude",
    [
        ("a dog barking", "extract", "a dog barking", ()),
        ("the talking", "extract", "the talking", ()),  # a plain phrase goes as written
        ("remove the noise", "remove", "noise", ()),
        ("Remove the noise from this recording.", "remove", "noise", ()),
        ("without the noise", "remove", "noise", ()),
        ("no noise", "remove", "noise", ()),
        ("minus the clicks", "remove", "clicks", ()),
        ("everything but the music", "remove", "music", ()),
        ("everything except for the music", "remove", "music", ()),
        ("please get rid of the hum", "remove", "hum", ()),
        ("isolate the dog", "extract", "dog", ()),
        ("extract a dog barking", "extract", "a dog barking", ()),
        ("keep only the speech", "extract", "speech", ()),
        ("only speech", "extract", "speech", ()),
        ("separate the dog from the rest", "extract", "dog", ()),
        ("speech without the music", "extract", "speech", ("music",)),
        ("isolate the speech but not the music", "extract", "speech", ("music",)),
    ],
)
def test_instructions_are_parsed(query, operation, target, exclude):
    plan = parse_query(query)
    assert (plan.operation, plan.target, plan.exclude) == (operation, target, exclude)


def test_exclude_adds_to_the_query_and_describe_says_what_is_done():
    plan = parse_query("speech without the music", ["the wind"])
    assert plan.exclude == ("music", "wind")
    assert plan.describe() == "extract 'speech' without 'music' without 'wind'"
    assert parse_query("remove the noise").describe() == "remove 'noise'"


@pytest.mark.parametrize(
    "query, fragment",
    [
        ("", "--query: the query is empty"),
        (" \t ", "the query holds a control character (U+0009"),
        ("a\u200bdog", "U+200B ZERO WIDTH SPACE) at position 2"),
        ("dog\u2028", "a line separator"),
        ("\ufeffdog", "U+FEFF"),
        (3, "--query: the query is a int"),
    ],
)
def test_bad_queries_are_named(query, fragment):
    with pytest.raises(QueryError, match=re.escape(fragment)):
        check_query(query, "--query")


def test_several_queries_are_numbered():
    with pytest.raises(QueryError, match="-q #2: the query is empty"):
        check_query_list(["a dog", " "], "--query")
    assert check_query_list(" a dog ") == ["a dog"]


def burst_scene(rate: int = 16000, seconds: float = 20.0):
    """Three bark-like bursts (harmonic, 0.3-0.5 s, decaying) at known times over 20 s of noise."""
    rng = np.random.default_rng(0)
    t = np.arange(int(rate * seconds)) / rate
    noise = 0.03 * rng.standard_normal(t.size)
    barks = np.zeros_like(t)
    truth = [(3.0, 3.4), (9.5, 10.0), (15.2, 15.5)]
    for start, end in truth:
        inside = (t >= start) & (t < end)
        local = t[inside] - start
        envelope = np.minimum(local / 0.01, 1) * np.exp(-local / (end - start))
        barks[inside] = (
            0.3 * envelope * sum(np.sin(2 * np.pi * f * local) / k for k, f in enumerate((450, 900, 1350), 1))
        )
    return barks.astype(np.float32), noise.astype(np.float32), truth


def test_spans_find_three_bursts_in_noise_within_a_fifth_of_a_second():
    """The bursts separated by the mask decoder from their own mel (an oracle separation), then located from the
    target-to-residual energy: each found within 0.2 s at both ends, nothing else."""
    from flowsep.codec import AudioCodec
    from flowsep.decoding import decode_target
    from flowsep.models.mel_latent import LogMelLatent

    barks, noise, truth = burst_scene()
    codec = AudioCodec(LogMelLatent(64))
    mixture = torch.from_numpy(barks + noise)
    scaled, gain = codec.level(mixture)
    mel = codec.log_mel(torch.from_numpy(barks) * gain)[0]  # (M, N)
    target = decode_target(mel, mixture, codec).numpy()
    spans = find_spans(target, mixture.numpy() - target, 16000)
    assert len(spans) == len(truth), spans
    for (start, end), (true_start, true_end) in zip(spans, truth):
        assert abs(start - true_start) < 0.2 and abs(end - true_end) < 0.2, (spans, truth)
    assert spans_csv(spans).splitlines()[0] == "start,end,duration"


def test_span_options_join_gaps_and_drop_short_runs():
    rate = 1000
    target = np.zeros(rate * 4, np.float32)
    for start, end in ((0.5, 1.0), (1.1, 1.5), (3.0, 3.05)):
        target[int(start * rate) : int(end * rate)] = 1.0
    residual = np.full_like(target, 0.01)
    spans = find_spans(target, residual, rate, SpanOptions(min_gap=0.25, min_duration=0.2))
    assert len(spans) == 1 and abs(spans[0][0] - 0.5) < 0.05 and abs(spans[0][1] - 1.5) < 0.05
    kept = find_spans(target, residual, rate, SpanOptions(min_gap=0.0, min_duration=0.0))
    assert len(kept) == 3
    assert find_spans(np.zeros(4000), np.zeros(4000), rate) == []  # silence: no span


def test_joint_queries_add_up_to_the_input_and_remove_is_the_residual(tiny_pipe):
    stereo = np.random.default_rng(4).standard_normal((2, 44100)).astype(np.float32) * 0.1
    out = tiny_pipe(["a dog", "rain"], stereo, sample_rate=44100, num_inference_steps=1, joint=True,
                    output_format="input", return_spans=True)  # fmt: skip
    assert out.audios.shape == (2, 2, 44100) and out.rest.shape == (2, 44100)
    assert np.abs(out.audios.sum(0) + out.rest - stereo).max() < 1e-4
    assert out.operation == ["extract 'a dog'", "extract 'rain'"] and len(out.spans) == 2
    one = tiny_pipe(
        "dog", stereo, sample_rate=44100, num_inference_steps=1, output_format="input", return_residual=True
    )
    removed = tiny_pipe(
        "remove the dog", stereo, sample_rate=44100, num_inference_steps=1, output_format="input"
    )
    assert removed.operation == ["remove 'dog'"]
    np.testing.assert_allclose(removed.audios, one.residuals, atol=1e-6)
    excluded = tiny_pipe("dog without the rain", stereo, sample_rate=44100, num_inference_steps=1)
    assert excluded.operation == ["extract 'dog' without 'rain'"] and excluded.audios.shape == (1, 16000)


def test_consistent_masks_never_claim_more_than_the_mixture():
    from flowsep.decoding import consistent_masks

    masks = torch.rand(3, 8, 5, generator=torch.Generator().manual_seed(0))
    scaled = consistent_masks(masks)
    assert (scaled.sum(0) <= 1 + 1e-6).all()
    small = masks / 10  # already consistent: unchanged
    torch.testing.assert_close(consistent_masks(small), small)


def test_each_mixture_window_is_encoded_once_for_all_queries(tiny_pipe, monkeypatch):
    calls = []
    encode = type(tiny_pipe.codec).encode

    def counting(self, windows, *args, **kwargs):
        calls.append(windows.shape[0])
        return encode(self, windows, *args, **kwargs)

    monkeypatch.setattr(type(tiny_pipe.codec), "encode", counting)
    mixture = np.random.default_rng(0).standard_normal(16000 * 3).astype(np.float32) * 0.1
    tiny_pipe("a dog", mixture, sample_rate=16000, num_inference_steps=1)
    once = sum(calls)
    calls.clear()
    tiny_pipe(["a dog", "rain", "wind"], mixture, sample_rate=16000, num_inference_steps=1)
    assert sum(calls) == once


def test_several_queries_in_one_command_write_files_that_sum_to_the_input(saved_tiny_pipe, tmp_path, capsys):
    rng = np.random.default_rng(5)
    stereo = (0.1 * rng.standard_normal((44100, 2))).astype(np.float32)
    sf.write(tmp_path / "mix.wav", stereo, 44100, subtype="FLOAT")
    args = ["separate", str(tmp_path / "mix.wav"), "-q", "a dog", "-q", "remove the rain", "--spans",
            "--model", str(saved_tiny_pipe), "--steps", "1", "-o", str(tmp_path / "out")]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "extract 'a dog': wrote" in printed and "remove 'rain': wrote" in printed and "rest" in printed
    dog = sf.read(tmp_path / "out" / "mix.a-dog.wav", dtype="float32")[0]
    rest = sf.read(tmp_path / "out" / "mix.rest.wav", dtype="float32")[0]
    not_rain = sf.read(tmp_path / "out" / "mix.remove-the-rain.wav", dtype="float32")[0]
    rain = stereo - not_rain
    assert np.abs(dog + rain + rest - stereo).max() < 1e-4
    record = json.loads((tmp_path / "out" / "mix.a-dog.spans.json").read_text())
    assert record["operation"] == "extract 'a dog'" and set(record["options"]) == {
        "threshold_db",
        "min_duration",
        "min_gap",
    }
    assert (tmp_path / "out" / "mix.remove-the-rain.spans.csv").read_text().startswith("start,end,duration")


def test_training_queries_and_the_queries_command(tmp_path, capsys):
    rows = [
        {"id": "a", "audio": "a.wav", "captions": ["a dog barking", "dog barks"], "labels": ["dog"],
         "query_wordings": {"word": "dog", "instruction": "isolate the dog"}},
        {"id": "b", "audio": "b.wav", "captions": ["rain falling"], "labels": ["rain"], "subject": "drizzle"},
    ]  # fmt: skip
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    known = training_queries([tmp_path / "train.jsonl"])
    assert [entry["label"] for entry in known["classes"]] == ["dog", "rain"]
    assert known["classes"][0]["families"] == {"word": ["dog"], "instruction": ["isolate the dog"]}
    assert known["classes"][1]["subjects"] == {"drizzle": ["rain falling"]}
    assert main(["queries"]) == 0  # the shipped model's file
    printed = capsys.readouterr().out
    assert "flowsep-mini: 37 classes" in printed and "dog: " in printed and "remove" in printed


QUERIES_FILE_ROWS = {
    "about": "two classes for a test",
    "classes": [
        {"label": "dog", "captions": ["a dog barking", "dog barks", "a hound", "a puppy", "woof"],
         "families": {"word": ["dog", "hound", "pup", "canine"], "instruction": ["isolate the dog"]},
         "subjects": {"puppy": ["a puppy yapping", "a young dog"]}},
        {"label": "rain", "captions": ["rain falling"]},
    ],
}  # fmt: skip


def main_run(argv: list[str]) -> int:
    """A command's ``run`` on ``argv``, its errors raised (``main`` turns them into exit codes)."""
    args = build_parser().parse_args(argv)
    return args.func(args)


def test_queries_command_prints_four_captions_and_three_wordings_per_family(
    saved_tiny_pipe, tmp_path, capsys
):
    """Guards the listing's cuts (four captions, three wordings, subjects only with --all) and its counts."""
    model = tmp_path / "model"
    shutil.copytree(saved_tiny_pipe, model)
    (model / "queries.json").write_text(json.dumps(QUERIES_FILE_ROWS))
    assert main(["queries", "--model", str(model)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:5] == [
        "model: 2 classes. two classes for a test",
        "  dog: a dog barking; dog barks; a hound; a puppy (+1 more)",
        "    word: dog; hound; pup",
        "    instruction: isolate the dog",
        "  rain: rain falling",
    ]
    assert lines[5] == "Every query may be an instruction:" and len(lines) == 6 + len(FORMS)
    assert lines[6] == f"  {FORMS[0][0]:40s} {FORMS[0][1]}"
    assert main(["queries", "--model", str(model), "--all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:6] == [
        "  dog: a dog barking; dog barks; a hound; a puppy; woof",
        "    word: dog; hound; pup; canine",
        "    instruction: isolate the dog",
        "    puppy: a puppy yapping; a young dog",
        "  rain: rain falling",
    ]


def test_queries_command_lists_a_sparse_queries_file(saved_tiny_pipe, tmp_path, capsys):
    """Guards the defaults for what a hand-written queries.json may leave out (no "about", no "classes", a class
    without captions): an empty text and empty lists, never ``None`` printed or counted."""
    model = tmp_path / "model"
    shutil.copytree(saved_tiny_pipe, model)
    (model / "queries.json").write_text(json.dumps({"classes": [{"label": "hum"}]}))
    assert main_run(["queries", "--model", str(model), "--all"]) == 0
    assert capsys.readouterr().out.splitlines()[:3] == [
        "model: 1 classes.",
        "  hum: ",
        "Every query may be an instruction:",
    ]
    (model / "queries.json").write_text(json.dumps({"about": "nothing yet"}))
    assert main_run(["queries", "--model", str(model)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "model: 0 classes. nothing yet"


def test_queries_command_refuses_a_model_without_queries(saved_tiny_pipe, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(saved_tiny_pipe, model)
    with pytest.raises(UsageError, match=r"model records no training queries \(no valid queries.json\)"):
        main_run(["queries", "--model", str(model)])
    (model / "queries.json").write_text("{not json")
    with pytest.raises(UsageError, match="records no training queries"):
        main_run(["queries", "--model", str(model)])


def test_queries_command_reads_only_local_folders(monkeypatch):
    monkeypatch.setattr("flowsep.loading.check_model_source", lambda model: False)
    with pytest.raises(
        UsageError, match="^--model owner/name: a hub id; flowsep queries reads a local model folder"
    ):
        main_run(["queries", "--model", "owner/name"])
