"""Separating and scoring benchmark items: resumable, and split across processes.

A run folder (:class:`~flowsep.evaluation.layout.RunFolder`) holds the settings, every separated item, the
per-item rows of every process and cached FAD embeddings.

A job is one item of one benchmark for one *system*: the unprocessed mixture (scored as if it were the output)
or the model at N steps. A job is done when its row holds every asked metric (and its output exists); a rerun
skips done jobs, scores cached outputs again without separating them when a metric is added, and separates the
rest. Every process writes only its own shard of rows; the main process merges them (the latest row of a job
wins).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from tqdm.auto import tqdm

from ..audio import load_audio, read_audio_file, save_audio
from .benchmark import Benchmark, BenchmarkItem
from .layout import Job, RunFolder, System
from .scoring import ItemScorer


def pending_jobs(
    run: RunFolder, benchmarks: Sequence[Benchmark], systems: Sequence[System], scorer: ItemScorer
) -> list[Job]:
    """The jobs not done yet, in a fixed order (benchmark, system, item), the same on every process."""
    rows = run.read_rows()
    jobs = []
    for benchmark in benchmarks:
        for system in systems:
            for item in benchmark.items:
                job = Job(benchmark, system, item)
                row = rows.get(job.key)
                done = row is not None and all(column in row for column in scorer.columns(item))
                if not (done and run.estimate_path(job).is_file()):
                    jobs.append(job)
    return jobs


class Separator:
    """Runs the model on batches of items, loading it on first use and timing each batch.

    Args:
        load: returns the pipeline (called once, when the first item needs separating).
        seed: every item starts from the noise of ``seed``.
        options: further pipeline keyword arguments (``guidance_scale``, ``decoder``, ``mask_rule``).
    """

    def __init__(self, load: Callable[[], Any], seed: int, **options):
        self.load, self.pipe, self.warm = load, None, False
        self.seed, self.options = seed, options

    def _run(self, mixtures: list[torch.Tensor], queries: list[str], steps: int):
        return self.pipe(
            queries, mixtures, sample_rate=self.pipe.config.sample_rate, num_inference_steps=steps,
            output_type="pt", generator=[torch.Generator().manual_seed(self.seed) for _ in queries], **self.options,
        )  # fmt: skip

    def __call__(
        self, items: Sequence[BenchmarkItem], steps: int
    ) -> tuple[list[torch.Tensor], int, float, int]:
        """Separate ``items`` at ``steps``: estimates ``(T_i,)``, their rate, seconds per item (reading the files
        left out), and network evaluations per window (NFE)."""
        if self.pipe is None:
            self.pipe = self.load()
            self.pipe.set_progress_bar_config(disable=True)
        rate = self.pipe.config.sample_rate
        mixtures = [load_audio(item.mixture, target_sample_rate=rate) for item in items]  # (T_i,) each
        queries = [item.query for item in items]
        if not self.warm:
            self._run(mixtures[:1], queries[:1], 1)  # so that no timing holds one-off set-up work
            self.warm = True
        synchronize = torch.cuda.synchronize if self.pipe.device.type == "cuda" else (lambda: None)
        synchronize()
        start = time.perf_counter()
        output = self._run(mixtures, queries, steps)
        synchronize()
        seconds = (time.perf_counter() - start) / len(items)
        estimates = [wave[: len(mixture)].float().cpu() for wave, mixture in zip(output.audios, mixtures)]
        return estimates, output.sample_rate, seconds, output.nfe


def _needs_model(job: Job, run: RunFolder) -> bool:
    return job.system.steps is not None and not run.output(job).is_file()


def _batches(jobs: Sequence[Job], run: RunFolder, size: int) -> list[list[Job]]:
    """Consecutive jobs grouped for one model call (same benchmark and steps, outputs not cached); other jobs
    alone."""
    batches: list[list[Job]] = []
    for job in jobs:
        last = batches[-1] if batches else None
        if (
            last and len(last) < size and _needs_model(job, run) and _needs_model(last[0], run)
            and (last[0].benchmark.name, last[0].system) == (job.benchmark.name, job.system)
        ):  # fmt: skip
            last.append(job)
        else:
            batches.append([job])
    return batches


def process_jobs(
    jobs: Sequence[Job],
    run: RunFolder,
    scorer: ItemScorer,
    separator: Separator,
    rank: int,
    batch_size: int = 1,
) -> int:
    """Separate (when needed), score, cache and record ``jobs``; returns the number of items separated."""
    rows, separated = run.read_rows(), 0
    with tqdm(total=len(jobs), desc=f"evaluating [{rank}]", unit="item") as progress:
        for batch in _batches(jobs, run, batch_size):
            first = batch[0]
            if _needs_model(first, run):
                estimates, rate, seconds, nfe = separator([job.item for job in batch], first.system.steps)
                for job, estimate in zip(batch, estimates):
                    save_audio(run.output(job), estimate, rate, subtype="FLOAT")
                timings = [{"seconds": seconds, "nfe": nfe}] * len(batch)
                separated += len(batch)
            else:  # the mixture, or a cached output (alone in its batch): scored from its file
                wave, rate = read_audio_file(run.estimate_path(first))  # (C, T)
                estimates = [torch.from_numpy(wave.mean(axis=0))]
                timings = [{key: rows.get(first.key, {}).get(key) for key in ("seconds", "nfe")}]
            for job, estimate, timing in zip(batch, estimates, timings):
                row = {"benchmark": job.benchmark.name, "system": job.system.name, "steps": job.system.steps,
                       "id": job.item.id, "query": job.item.query, "snr_db": job.item.snr_db} | timing  # fmt: skip
                run.append_row(rank, row | scorer.score(estimate, rate, job.item))
                progress.update()
    return separated
