"""What ``flowsep separate-batch`` plans before any model loads (flowsep/commands/separate_batch.py).

Guards against: jobs from the wrong files or queries, output stems that collide or lose the extension, a
manifest row's line number off by blank lines or multi-line CSV fields (messages point at the wrong line), a
row's ``"queries"`` not split or not checked, and folder names of queries that collide.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from flowsep.cli import main
from flowsep.commands.separate_batch import (
    REST_FOLDER,
    Job,
    _differences,
    list_jobs,
    query_folders,
    row_queries,
    slug,
)
from flowsep.data.manifest import read_manifest
from flowsep.errors import AudioInputError, QueryError, UsageError


def write_jsonl(path: Path, rows: list[dict | None]) -> Path:
    """One JSON object per line; ``None`` writes a blank line."""
    path.write_text("".join(("" if row is None else json.dumps(row)) + "\n" for row in rows))
    return path


def short_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def test_slug_keeps_letters_and_digits_joined_by_dashes():
    assert slug("A dog, barking!") == "a-dog-barking"
    assert slug("  --Rain--  ") == "rain"
    assert slug("犬") == ""
    assert slug("ab " * 40) == ("ab-" * 20)[:59] and len(slug("ab " * 40)) == 59  # cut at 60, no dash left


def test_query_folders_hash_only_empty_or_shared_slugs():
    folders = query_folders(["a dog", "A dog!", "rain", "犬", "rain"])
    assert folders == {
        "a dog": f"a-dog-{short_hash('a dog')}",
        "A dog!": f"a-dog-{short_hash('A dog!')}",
        "rain": "rain",
        "犬": f"query-{short_hash('犬')}",
    }


def test_folder_jobs_are_every_audio_file_times_every_query(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("b.wav", "a.flac", "a.wav", "sub/c.WAV", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    jobs = list_jobs(tmp_path, ["a dog", "rain"])
    assert [(job.audio.name, job.query, job.stem) for job in jobs] == [
        ("a.flac", "a dog", "a-dog/a.flac"), ("a.flac", "rain", "rain/a.flac"),
        ("a.wav", "a dog", "a-dog/a.wav"), ("a.wav", "rain", "rain/a.wav"),
        ("b.wav", "a dog", "a-dog/b.wav"), ("b.wav", "rain", "rain/b.wav"),
        ("c.WAV", "a dog", "a-dog/sub/c.WAV"), ("c.WAV", "rain", "rain/sub/c.WAV"),
    ]  # fmt: skip
    assert jobs[0].origin == str(tmp_path / "a.flac") and jobs[0].queries == ()


def test_folder_input_needs_a_query_and_audio(tmp_path):
    with pytest.raises(UsageError, match="a folder input needs at least one --query"):
        list_jobs(tmp_path, None)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(AudioInputError, match=r"^no audio files \(.*\.wav.*\) under "):
        list_jobs(tmp_path, ["dog"])


def test_an_audio_file_or_another_file_is_not_a_batch(tmp_path):
    with pytest.raises(UsageError, match="is an audio file: separate-batch takes a folder or a manifest"):
        list_jobs(tmp_path / "mix.wav", ["dog"])
    with pytest.raises(UsageError, match=r"is neither a folder nor a manifest \(.jsonl, .json, .csv\)"):
        list_jobs(tmp_path / "mix.txt", ["dog"])


def test_manifest_jobs_use_the_first_caption_and_the_row_line(tmp_path):
    manifest = write_jsonl(
        tmp_path / "rows.jsonl",
        [None, {"id": "one", "audio": "one.wav", "captions": ["a dog", "a hound"]}, None,
         {"id": "two", "audio": "sub/two.wav", "captions": ["rain"]}],
    )  # fmt: skip
    jobs = list_jobs(manifest, None)
    assert [(job.audio, job.query, job.stem, job.origin) for job in jobs] == [
        ((tmp_path / "one.wav").resolve(), "a dog", "a-dog/one", f"{manifest}:2"),
        ((tmp_path / "sub/two.wav").resolve(), "rain", "rain/two", f"{manifest}:4"),
    ]


def test_manifest_with_queries_ignores_the_captions(tmp_path):
    manifest = write_jsonl(
        tmp_path / "rows.jsonl", [{"id": "one", "audio": "one.wav", "captions": ["a dog"]}]
    )
    jobs = list_jobs(manifest, ["rain", "wind"])
    assert [(job.query, job.stem) for job in jobs] == [("rain", "rain/one"), ("wind", "wind/one")]


def test_csv_rows_are_named_by_the_line_they_end_on(tmp_path):
    manifest = tmp_path / "rows.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "audio", "captions", "license"])
        writer.writerow(["one", "one.wav", "a dog", "first line\nsecond line"])
        writer.writerow(["two", "two.wav", "rain", "CC0"])
    assert [job.origin for job in list_jobs(manifest, None)] == [f"{manifest}:3", f"{manifest}:4"]


def test_a_bad_caption_is_named_by_its_line(tmp_path):
    manifest = write_jsonl(
        tmp_path / "rows.jsonl",
        [{"id": "one", "audio": "one.wav", "captions": ["rain"]}, None,
         {"id": "two", "audio": "two.wav", "captions": ["a\u200bdog"]}],
    )  # fmt: skip
    with pytest.raises(QueryError, match=rf"^{manifest} line 3, caption: the query holds"):
        list_jobs(manifest, None)
    assert len(list_jobs(manifest, ["rain"])) == 2  # with --query the captions are not queries


def test_a_row_with_queries_is_one_joint_job_plus_its_rest(tmp_path):
    manifest = write_jsonl(
        tmp_path / "rows.jsonl",
        [{"id": "one", "audio": "one.wav", "captions": ["x"], "queries": ["a dog", " rain "]},
         {"id": "two", "audio": "two.wav", "captions": ["wind"]},
         {"id": "three", "audio": "three.wav", "captions": ["x"], "queries": "speech|music"}],
    )  # fmt: skip
    jobs = list_jobs(manifest, None)
    assert jobs[0] == Job((tmp_path / "two.wav").resolve(), "wind", "wind/two", f"{manifest}:2")
    assert jobs[1] == Job(
        (tmp_path / "one.wav").resolve(), "a dog + rain", f"{REST_FOLDER}/one", f"{manifest}:1",
        ("a dog", "rain"), ("a-dog/one", "rain/one"),
    )  # fmt: skip
    assert (jobs[2].queries, jobs[2].stems) == (("speech", "music"), ("speech/three", "music/three"))
    assert jobs[1].outputs((".wav", ".residual.wav")) == ["a-dog/one.wav", "rain/one.wav", "_rest/one.wav"]
    assert jobs[0].outputs((".wav", ".residual.wav")) == ["wind/two.wav", "wind/two.residual.wav"]


@pytest.mark.parametrize("value", [[], "", 3, {"a": 1}])
def test_row_queries_must_be_a_list_of_strings(tmp_path, value):
    manifest = write_jsonl(tmp_path / "rows.jsonl", [{"id": "one", "audio": "a.wav", "captions": ["x"],
                                                      "queries": value}])  # fmt: skip
    (record,) = read_manifest(manifest)
    if value == "":  # an empty string is no value in a manifest
        assert row_queries(record, "here") == ()
        return
    with pytest.raises(UsageError, match=r"^here: 'queries' must be a list of strings, got "):
        row_queries(record, "here")


def test_each_row_query_is_checked_and_numbered(tmp_path):
    manifest = write_jsonl(
        tmp_path / "rows.jsonl",
        [None, {"id": "one", "audio": "a.wav", "captions": ["x"], "queries": ["a dog", "  "]}],
    )
    with pytest.raises(QueryError, match=rf"^{manifest} line 2, query #2: the query is empty"):
        list_jobs(manifest, None)
    (record,) = read_manifest(manifest)
    assert row_queries(dataclasses.replace(record, extra={}), "x") == ()  # a row without queries


def test_differences_name_what_changed_since_an_output_was_made():
    """Guards the refusal's message: each changed setting with its old and new value, then the query and the
    input file; "the record" when only something else differs; any JSON object as the old record."""
    new = {"settings": {"steps": 2, "guidance": 1.0}, "query": "rain", "input": {"size": 4}}
    old = {"settings": {"steps": 10, "guidance": 1.0}, "query": "rain", "input": {"size": 4}}
    assert _differences(old, new) == "steps 10 -> 2"
    assert _differences({**old, "query": "dog", "input": {}}, new) == "steps 10 -> 2, query, input file"
    assert _differences({**new, "extra": 1}, new) == "the record"
    assert _differences({}, new) == "steps None -> 2, guidance None -> 1.0, query, input file"
    assert _differences({"settings": "odd", "query": "rain", "input": {"size": 4}}, new) == (
        "steps None -> 2, guidance None -> 1.0"
    )


@pytest.mark.parametrize("record", ["{broken", "[1, 2]", '{"settings": 3}'])
def test_a_record_not_made_by_this_command_is_refused_in_one_message(
    saved_tiny_pipe, tmp_path, capsys, record
):
    """A record beside an output that is not valid JSON, not an object or holds no settings: the batch is
    refused with the outputs named (no traceback), and --overwrite redoes it."""
    folder = tmp_path / "in"
    folder.mkdir()
    sf.write(
        folder / "mix.wav", 0.1 * np.random.default_rng(0).standard_normal(8000).astype(np.float32), 16000
    )
    args = ["separate-batch", str(folder), "-o", str(tmp_path / "out"), "-q", "rain", "--model", str(saved_tiny_pipe),
            "--steps", "1"]  # fmt: skip
    assert main(args) == 0
    (tmp_path / "out" / "rain" / "mix.wav.json").write_text(record)
    capsys.readouterr()
    assert main(args) == 2
    error = capsys.readouterr().err
    assert "mix.wav.json: made with other settings (steps None -> 1" in error and "Traceback" not in error
    assert main([*args, "--overwrite"]) == 0
    assert json.loads((tmp_path / "out" / "rain" / "mix.wav.json").read_text())["settings"]["steps"] == 1
