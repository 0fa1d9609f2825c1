"""``flowsep separate-batch``: a folder or manifest of mixtures, resumable, splittable across processes.

Outputs go to ``OUT/<query>/<name>.wav`` (and ``<name>.residual.wav`` with ``--residual``). Finished files are
skipped on a rerun, so a killed job resumes; files are written atomically, so no half-written file is taken for
a finished one. Under ``accelerate launch`` the files are split between the processes.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..audio import AUDIO_SUFFIXES, load_audio, save_audio
from ..errors import AudioInputError, UsageError
from .options import add_model_arguments, prepare_pipeline, sampling_options
from .outputs import check_output_folder, check_separate_folders


def slug(text: str, limit: int = 60) -> str:
    """A file-name-safe form of a query: ``"A dog, barking!" -> "a-dog-barking"``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit] or "query"


def list_jobs(source: Path, queries: list[str] | None) -> list[tuple[Path, str, str]]:
    """``(audio path, query, output stem)`` for a folder (every query per file) or a manifest (its captions)."""
    if source.is_dir():
        if not queries:
            raise UsageError("a folder input needs at least one --query")
        files = sorted(p for p in source.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        if not files:
            raise AudioInputError(f"no audio files ({' '.join(AUDIO_SUFFIXES)}) under {source}")
        return [(f, q, f"{slug(q)}/{f.relative_to(source).with_suffix('')}") for f in files for q in queries]
    from ..data.manifest import read_manifest

    jobs = []
    for record in read_manifest(source):
        for query in queries or record.captions[:1]:
            jobs.append((Path(record.audio), query, f"{slug(query)}/{record.id}"))
    return jobs


def register(subparsers):
    parser = subparsers.add_parser("separate-batch", help="separate every file of a folder or manifest")
    parser.add_argument("input", help="a folder of audio files, or a manifest (.jsonl/.csv) whose captions are queries")
    parser.add_argument("-o", "--output-dir", required=True, help="folder for the results")
    parser.add_argument("--query", "-q", action="append", help="query (repeat for several; default: manifest captions)")
    parser.add_argument("--remove", action="store_true", help="write the mixture minus the query as the main output")
    parser.add_argument("--residual", action="store_true", help="also write <name>.residual.wav")
    add_model_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from accelerate import PartialState

    source, out_dir = Path(args.input), Path(args.output_dir)
    if not source.exists():
        raise AudioInputError(f"input not found: {source}")
    if source.is_dir():
        check_separate_folders(source, out_dir)
    jobs = list_jobs(source, args.query)
    suffixes = (".wav", ".residual.wav") if args.residual else (".wav",)
    outputs = [out_dir / f"{stem}{suffix}" for _, _, stem in jobs for suffix in suffixes]
    check_output_folder(out_dir, outputs, [audio for audio, _, _ in jobs])
    jobs = [job for job in jobs if not (out_dir / f"{job[2]}.wav").exists()]
    state = PartialState(cpu=not torch.cuda.is_available())  # CPU processes join one gloo group too
    with state.split_between_processes(jobs) as mine:
        if args.device == "auto" and state.device.type == "cuda":
            args.device = str(state.device)
        pipe = prepare_pipeline(args)
        failures = 0
        for audio_path, query, stem in tqdm(mine, desc=f"separating [{state.process_index}]", unit="file"):
            try:
                mixture = load_audio(audio_path, target_sample_rate=pipe.config.sample_rate)
            except AudioInputError as error:
                print(f"skipped: {error}")
                failures += 1
                continue
            result = pipe(
                query, mixture, sample_rate=pipe.config.sample_rate, return_residual=True,
                generator=torch.Generator().manual_seed(args.seed), **sampling_options(args),
            )  # fmt: skip
            kept, other = result.audios[0], result.residuals[0]
            if args.remove:
                kept, other = other, kept
            if args.residual:
                save_audio(out_dir / f"{stem}.residual.wav", other, result.sample_rate)
            save_audio(out_dir / f"{stem}.wav", kept, result.sample_rate)
    state.wait_for_everyone()
    if state.is_main_process:
        print(f"{len(jobs)} separations to do, {failures} skipped on process 0; results in {out_dir}")
    return 1 if failures else 0
