"""The layout of an evaluation run folder, and what a run of it is made of (systems and jobs). Light: no torch.

A run folder holds::

    RUN/
      settings.json                  the model and sampling settings; a rerun must use the same ones
      outputs/<benchmark>/steps-<N>/<id>.wav   every separated item (float32)
      rows/rank<k>.jsonl             per-item rows appended by process k, one JSON object per line
      embeddings/                    cached FAD embeddings
      items.csv, summary.json, results.md, metric_vs_steps.png, figures/<benchmark>/   the report
                                     (see :mod:`flowsep.evaluation.report`)

Every path a run will write is known before it starts (:meth:`RunFolder.planned_files`), so that the command
checks them all (inside the run folder, replacing no input) before any work.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .benchmark import Benchmark, BenchmarkItem

REPORT_FILES = ("settings.json", "items.csv", "summary.json", "results.md", "metric_vs_steps.png")


@dataclass(frozen=True)
class System:
    """What produces the estimates: the mixture itself (``steps=None``) or the model at ``steps`` ODE steps."""

    steps: int | None = None

    @property
    def name(self) -> str:
        return "mixture" if self.steps is None else f"steps-{self.steps}"

    @property
    def label(self) -> str:
        if self.steps is None:
            return "Mixture (unprocessed)"
        return f"FlowSep, {self.steps} step" + ("s" if self.steps > 1 else "")


@dataclass(frozen=True)
class Job:
    benchmark: Benchmark
    system: System
    item: BenchmarkItem

    @property
    def key(self) -> tuple[str, str, str]:
        return self.benchmark.name, self.system.name, self.item.id


class RunFolder:
    """The files of a run folder (see the module's docstring); only these are written into it."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def output(self, job: Job) -> Path:
        return self.root / "outputs" / job.benchmark.name / job.system.name / f"{job.item.id}.wav"

    def estimate_path(self, job: Job) -> Path:
        """The file holding the job's estimate: the mixture itself, or the model's output."""
        return job.item.mixture if job.system.steps is None else self.output(job)

    def figure_files(
        self, benchmark: Benchmark, item: BenchmarkItem, systems: Sequence[System]
    ) -> list[Path]:
        """The figure of ``item`` and its wavs, named as :func:`flowsep.figures.write_example` names them."""
        folder = self.root / "figures" / benchmark.name
        keys = (
            ["mixture"] + ["reference"] * (item.reference is not None) + [s.name for s in systems if s.steps]
        )
        return [folder / f"{item.id}.png"] + [folder / f"{item.id}_{key}.wav" for key in keys]

    def planned_files(
        self, benchmarks: Sequence[Benchmark], systems: Sequence[System], figures: int
    ) -> list[tuple[Path, str]]:
        """Every file a run of ``systems`` on ``benchmarks`` writes (rows' and embeddings' aside, whose names are
        fixed), each with where its name comes from, for :func:`~flowsep.commands.outputs.check_output_folder`."""
        planned = [(self.root / name, "the run") for name in REPORT_FILES]
        for benchmark in benchmarks:
            for index, item in enumerate(benchmark.items):
                origin = f"{benchmark.manifest}: item {item.id!r}"
                planned += [(self.output(Job(benchmark, s, item)), origin) for s in systems if s.steps]
                if index < figures:
                    planned += [(path, origin) for path in self.figure_files(benchmark, item, systems)]
        return planned

    def check_settings(self, settings: dict[str, Any]):
        """Refuse to mix results of other settings into this run folder, and to write into a folder that holds
        files but is no run folder (a run stopped while embedding the references has left ``embeddings/`` only)."""
        path = self.root / "settings.json"
        found = {entry.name for entry in self.root.iterdir()} if self.root.is_dir() else set()
        if not path.is_file() and found - {"embeddings"}:
            raise UsageError(
                f"{self.root} holds files but is not an evaluation run folder (no settings.json): choose an empty "
                "or new folder"
            )
        if path.is_file():
            saved = json.loads(path.read_text())
            changed = {
                key: (saved.get(key), value) for key, value in settings.items() if saved.get(key) != value
            }
            if changed:
                detail = ", ".join(f"{key}: {old!r} -> {new!r}" for key, (old, new) in changed.items())
                raise UsageError(
                    f"{self.root} holds results of other settings ({detail}): choose another output folder"
                )

    def write_settings(self, settings: dict[str, Any]):
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")

    def read_rows(self) -> dict[tuple[str, str, str], dict]:
        """Every process's rows, the latest per job; a line cut short by a crash is ignored."""
        rows: dict[tuple[str, str, str], dict] = {}
        for shard in sorted((self.root / "rows").glob("rank*.jsonl")):
            for line in shard.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                key = (row["benchmark"], row["system"], row["id"])
                if key not in rows or row["written_at"] >= rows[key]["written_at"]:
                    rows[key] = row
        return rows

    def append_row(self, rank: int, row: dict):
        """Append one row to this process's shard, flushed to disk."""
        shard = self.root / "rows" / f"rank{rank}.jsonl"
        shard.parent.mkdir(parents=True, exist_ok=True)
        with open(shard, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row | {"written_at": time.time()}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
