"""``flowsep separate-batch``: a folder or manifest of mixtures, resumable, splittable across processes.

Outputs go to ``OUT/<query>/<name>.wav`` (and ``<name>.residual.wav`` with ``--residual``), where ``<name>`` is
the input's path under the folder *with* its extension (``a.wav`` and ``a.flac`` do not collide) or the manifest
row's id, and ``<query>`` is the query's slug, with a short hash when the slug is empty (non-Latin queries) or
shared by two queries. Beside each output, ``<name>.json`` records what produced it (query, settings, model, and
the input's size and modification time). Every output path is checked before any work: inside ``OUT``, no
input replaced, no two jobs on one file. A rerun skips the jobs whose record matches, and refuses (unless
``--overwrite``) outputs made with other settings or by something else. A file that cannot be separated is
reported and skipped; it never stops the batch. Under ``accelerate launch`` the jobs are split between the
processes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..audio import AUDIO_SUFFIXES
from ..errors import AudioInputError, FlowSepError, OutputPathError, UsageError
from .options import (
    MODEL_SETTINGS,
    add_model_arguments,
    check_model_options,
    prepare_pipeline,
    sampling_options,
)
from .outputs import check_output_folder, check_separate_folders

MANIFEST_SUFFIXES = (".jsonl", ".json", ".csv")
REST_FOLDER = "_rest"  # what no query of a several-query row claimed (no query's slug starts with "_")
SETTING_KEYS = ("steps", *MODEL_SETTINGS)


def slug(text: str, limit: int = 60) -> str:
    """A file-name-safe form of a query: ``"A dog, barking!" -> "a-dog-barking"``; ``""`` when nothing is left."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")


def query_folders(queries: list[str]) -> dict[str, str]:
    """A folder name per distinct query: its slug, plus 8 hex digits of its hash when the slug is empty or is
    also another query's slug."""
    slugs = {query: slug(query) for query in dict.fromkeys(queries)}
    counts = Counter(slugs.values())
    return {
        query: name if name and counts[name] == 1 else f"{name or 'query'}-{hashlib.sha1(query.encode()).hexdigest()[:8]}"
        for query, name in slugs.items()
    }  # fmt: skip


@dataclass
class Job:
    audio: Path
    query: str
    stem: str  # output path under the output folder, without ".wav" (of the rest, for several queries)
    origin: str  # where the job came from, for messages: the file, or "manifest:line"
    queries: tuple[str, ...] = ()  # a manifest row's "queries", separated jointly in one pass
    stems: tuple[str, ...] = ()  # their outputs' stems

    def outputs(self, suffixes: tuple[str, ...]) -> list[str]:
        """Output stems + suffixes: ``stem`` + each suffix, or each query's ``.wav`` and the rest's."""
        if not self.queries:
            return [f"{self.stem}{suffix}" for suffix in suffixes]
        return [f"{stem}.wav" for stem in self.stems] + [f"{self.stem}.wav"]


def row_queries(record, origin: str) -> tuple[str, ...]:
    """A manifest row's ``"queries"`` (a list of strings, or one ``|``-separated string), each checked and named
    by ``origin`` (``"clips.jsonl line 3, query #2"``); ``()`` when the row has none."""
    from ..queries import check_query

    value = record.extra.get("queries")
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split("|")
    if not isinstance(value, list) or not value:
        raise UsageError(f"{origin}: 'queries' must be a list of strings, got {value!r}")
    return tuple(
        check_query(query, f"{origin}, query #{index}") for index, query in enumerate(value, start=1)
    )


def _manifest_lines(path: Path) -> list[int]:
    """Line numbers of a manifest's rows, in the order :func:`read_manifest` returns them."""
    if path.suffix.lower() == ".csv":
        import csv

        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            return [reader.line_num for _ in reader]
    with open(path, encoding="utf-8") as handle:
        return [number for number, line in enumerate(handle, start=1) if line.strip()]


def list_jobs(source: Path, queries: list[str] | None) -> list[Job]:
    """The jobs of a folder (every query per file) or a manifest (its first caption, or the queries)."""
    if source.is_dir():
        if not queries:
            raise UsageError("a folder input needs at least one --query (or --remove)")
        files = sorted(p for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
        if not files:
            raise AudioInputError(f"no audio files ({' '.join(AUDIO_SUFFIXES)}) under {source}")
        folders = query_folders(queries)
        return [
            Job(f, q, f"{folders[q]}/{f.relative_to(source).as_posix()}", str(f))
            for f in files
            for q in queries
        ]
    if source.suffix.lower() in AUDIO_SUFFIXES:
        raise UsageError(f"{source} is an audio file: separate-batch takes a folder or a manifest (.jsonl, .csv); "
                         "for one file use 'flowsep separate'")  # fmt: skip
    if source.suffix.lower() not in MANIFEST_SUFFIXES:
        raise UsageError(f"{source} is neither a folder nor a manifest (.jsonl, .json, .csv)")
    from ..data.manifest import read_manifest
    from ..queries import check_query

    records = read_manifest(source)
    lines = _manifest_lines(source)
    line_of = {record.id: lines[index] if index < len(lines) else "?" for index, record in enumerate(records)}
    several = {} if queries else {r.id: row_queries(r, f"{source} line {line_of[r.id]}") for r in records}
    for record in records:
        if not queries and not several[record.id]:
            check_query(record.captions[0], f"{source} line {line_of[record.id]}, caption")
    pairs = [(record, query) for record in records if not several.get(record.id)
             for query in queries or record.captions[:1]]  # fmt: skip
    folders = query_folders([query for _, query in pairs] + [q for row in several.values() for q in row])
    jobs = [Job(Path(r.audio), q, f"{folders[q]}/{r.id}", f"{source}:{line_of[r.id]}") for r, q in pairs]
    for record in records:
        if several.get(record.id):
            row = several[record.id]
            jobs.append(Job(Path(record.audio), " + ".join(row), f"{REST_FOLDER}/{record.id}",
                            f"{source}:{line_of[record.id]}", row, tuple(f"{folders[q]}/{record.id}" for q in row)))  # fmt: skip
    return jobs


def register(subparsers):
    parser = subparsers.add_parser("separate-batch", help="separate every file of a folder or manifest")
    parser.add_argument(
        "input", help="a folder of audio files, or a manifest (.jsonl/.csv) whose captions are queries"
    )
    parser.add_argument("-o", "--output-dir", required=True, help="folder for the results")
    query = parser.add_mutually_exclusive_group()
    query.add_argument(
        "--query", "-q", action="append", help="query to keep (repeat for several; default: captions)"
    )
    query.add_argument(
        "--remove", metavar="QUERY", action="append", help="query to remove (repeat for several)"
    )
    parser.add_argument("--residual", action="store_true", help="also write <name>.residual.wav")
    parser.add_argument("--overwrite", action="store_true", help="redo outputs made with other settings")
    parser.add_argument("--model-rate", action="store_true", help="write mono at the model's rate")
    add_model_arguments(parser)
    parser.set_defaults(func=run)


def job_record(job: Job, args: argparse.Namespace) -> dict:
    """What decides a job's outputs: the query, the settings, the model and the input file's identity."""
    from ..loading import default_model

    model = str(args.model or default_model())
    try:
        stat = job.audio.stat()
    except OSError:  # reported when the job runs
        stat = os.stat_result((0,) * 10)
    settings = {key: getattr(args, key) for key in SETTING_KEYS} | {
        "remove": bool(args.remove), "residual": args.residual, "model_rate": args.model_rate,
        "model": str(Path(model).resolve()) if Path(model).exists() else model,
    }  # fmt: skip
    return {"query": list(job.queries) if job.queries else job.query, "settings": settings,
            "input": {"path": str(job.audio.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}}  # fmt: skip


def _differences(old: dict, new: dict) -> str:
    """What differs between an output's record ``old`` (any JSON object) and this run's ``new``, for messages:
    ``"steps 10 -> 2, query"``."""
    settings = old.get("settings") if isinstance(old.get("settings"), dict) else {}
    keys = [f"{key} {settings.get(key)!r} -> {value!r}" for key, value in new["settings"].items()
            if settings.get(key) != value]  # fmt: skip
    keys += ["query"] * (old.get("query") != new["query"]) + ["input file"] * (
        old.get("input") != new["input"]
    )
    return ", ".join(keys) or "the record"


def plan_jobs(jobs: list[Job], out_dir: Path, args: argparse.Namespace) -> list[tuple[Job, dict]]:
    """The jobs left to do with their records; :class:`OutputPathError` for outputs made otherwise (unless
    ``--overwrite``)."""
    todo, conflicts = [], []
    for job in jobs:
        record, record_path = job_record(job, args), out_dir / f"{job.stem}.json"
        outputs = [out_dir / name for name in job.outputs(output_suffixes(args))]
        old = None
        if record_path.is_file():
            try:
                old = json.loads(record_path.read_text())
            except (OSError, ValueError):
                old = {}
            old = old if isinstance(old, dict) else {}  # a record is a JSON object
        if old == record and all(path.is_file() for path in outputs):
            continue
        if old is not None and old != record and not args.overwrite:
            conflicts.append(f"{record_path}: made with other settings ({_differences(old, record)})")
        elif old is None and any(path.exists() for path in outputs) and not args.overwrite:
            conflicts.append(
                f"{next(p for p in outputs if p.exists())}: exists without a record of what made it"
            )
        todo.append((job, record))
    if conflicts:
        raise OutputPathError(
            f"{len(conflicts)} output(s) in {out_dir} were not made by this command: use another output folder, "
            "or pass --overwrite to redo them\n  " + "\n  ".join(conflicts[:5])
        )
    return todo


def output_suffixes(args: argparse.Namespace) -> tuple[str, ...]:
    return (".wav", ".residual.wav") if args.residual else (".wav",)


def separate_job(pipe, job: Job, record: dict, out_dir: Path, args: argparse.Namespace):
    """Separate one job and write its outputs (atomically), then its record."""
    import torch

    from ..audio import read_audio, save_audio, write_text_atomic
    from .separate import output_subtype

    record_path = out_dir / f"{job.stem}.json"
    record_path.unlink(missing_ok=True)  # outputs without a record are never taken for finished ones
    mixture, rate = read_audio(job.audio)
    result = pipe(
        list(job.queries) or job.query, mixture, sample_rate=rate, return_residual=True,
        output_format="model" if args.model_rate else "input", joint=bool(job.queries),
        generator=torch.Generator().manual_seed(args.seed), **sampling_options(args),
    )  # fmt: skip
    if job.queries:  # each query's output, then the rest
        subtype = None if args.model_rate else output_subtype(job.audio, out_dir / f"{job.stem}.wav")
        for name, wave in zip(job.outputs(()), [*result.audios, result.rest]):
            save_audio(out_dir / name, wave, result.sample_rate, subtype=subtype)
        write_text_atomic(record_path, json.dumps(record, indent=1))
        return
    kept, other = result.audios[0], result.residuals[0]
    if args.remove:
        kept, other = other, kept
    waves = {".wav": kept, ".residual.wav": other}
    for suffix in reversed(output_suffixes(args)):  # the main output last
        path, wave = out_dir / f"{job.stem}{suffix}", waves[suffix]
        subtype = None if args.model_rate else output_subtype(job.audio, path)
        save_audio(path, wave, result.sample_rate, subtype=subtype)
    write_text_atomic(record_path, json.dumps(record, indent=1))


def run(args: argparse.Namespace) -> int:
    # 1. Check the input, the queries, the model options and every output path before any work
    source, out_dir = Path(args.input), Path(args.output_dir)
    if not source.exists():
        raise AudioInputError(f"input not found: {source}")
    if source.is_dir():
        check_separate_folders(source, out_dir)
    queries = args.query or args.remove
    if queries:
        from ..queries import check_query_list, parse_query

        queries = check_query_list(queries, "--query" if args.query else "--remove")
        for index, query in enumerate(queries if args.remove else [], start=1):
            if parse_query(query).operation == "remove":
                name = "--remove" if len(queries) == 1 else f"--remove #{index}"
                raise UsageError(f"{name}: {query!r} is already an instruction to remove; use -q {query!r}")
    jobs = list_jobs(source, queries or None)
    outputs = [
        (out_dir / name, job.origin) for job in jobs for name in (*job.outputs(output_suffixes(args)), f"{job.stem}.json")
    ]  # fmt: skip
    check_output_folder(out_dir, outputs, [job.audio for job in jobs])
    check_model_options(args)
    todo = plan_jobs(jobs, out_dir, args)

    # 2. Separate this process's share; a file that fails is reported and skipped
    import torch
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available())  # CPU processes join one gloo group too
    failures = done = 0
    with state.split_between_processes(todo) as mine:
        if args.device == "auto" and state.device.type == "cuda":
            args.device = str(state.device)
        pipe = prepare_pipeline(args) if mine else None
        try:
            for index, (job, record) in enumerate(mine, start=1):
                print(f"[{index}/{len(mine)}] {job.origin}: {job.query!r}", flush=True)
                try:
                    separate_job(pipe, job, record, out_dir, args)
                    done += 1
                except FlowSepError as error:
                    print(f"skipped {job.origin}: {error}", flush=True)
                    failures += 1
                except (RuntimeError, ValueError, OSError, MemoryError) as error:
                    print(f"failed {job.origin}: {type(error).__name__}: {error}", flush=True)
                    failures += 1
        except KeyboardInterrupt:
            print(f"interrupted after {done} of {len(mine)} separations; rerun the same command to resume")
            raise
    state.wait_for_everyone()
    skipped = len(jobs) - len(todo)
    print(f"process {state.process_index}: {done} separated, {failures} failed; {skipped} already done "
          f"(all processes); results in {out_dir}")  # fmt: skip
    return 1 if failures else 0
