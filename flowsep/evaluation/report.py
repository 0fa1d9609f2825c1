"""The results of a run: per-item CSV, summary JSON, Markdown tables shaped like the paper's Tables I and III,
a metric-vs-steps plot, and log-mel figures of a few items.

Written into the run folder by the main process once every item is done::

    items.csv             one row per benchmark x system x item
    summary.json          settings, metric checkpoints, versions, and per benchmark and system the statistics
    results.md            Table I (systems x benchmark metrics) and, for several step counts, Table III
    metric_vs_steps.png   with --plot and several step counts
    figures/<benchmark>/<id>.png   mixture, reference and outputs (with their wavs)
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
import math
import platform
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..audio import load_audio
from ..figures import write_example
from ..metrics import ITEM_COLUMNS, summarize
from ..spectrogram import MelConfig
from .benchmark import Benchmark
from .runner import Job, RunFolder, System
from .scoring import SetScorer

ITEM_METRICS = tuple(column for columns in ITEM_COLUMNS.values() for column in columns)
LABELS = {
    "fad": "FAD ↓", "clap_score": "CLAPScore ↑", "clap_score_a": "CLAPScore_A ↑", "si_sdr": "SI-SDR ↑",
    "si_sdri": "SI-SDRi ↑", "sdr": "SDR ↑", "sdri": "SDRi ↑", "seconds_per_item": "time / item (s) ↓",
}  # fmt: skip
TABLE_ONE = ("fad", "clap_score", "clap_score_a", "si_sdr", "si_sdri", "sdri")
TABLE_THREE = ("fad", "clap_score", "clap_score_a", "si_sdri")
VERSIONED = (
    "flowsep",
    "torch",
    "diffusers",
    "transformers",
    "accelerate",
    "numpy",
    "torchmetrics",
    "frechet_audio_distance",
)


def _finite(value) -> float | None:
    """A float for JSON and tables; ``None`` for missing, NaN or infinite values."""
    return float(value) if value is not None and math.isfinite(float(value)) else None


def _mean(values) -> float | None:
    values = [float(v) for v in values if _finite(v) is not None]
    return float(np.mean(values)) if values else None


def system_results(rows: Sequence[dict], fad: float | None) -> dict[str, Any]:
    """Statistics of one system on one benchmark from its item rows."""
    metrics = {}
    for name in ITEM_METRICS:
        if any(name in row for row in rows):
            summary = summarize([row[name] if _finite(row.get(name)) is not None else np.nan for row in rows])
            metrics[name] = {
                key: _finite(value) if isinstance(value, float) else value
                for key, value in asdict(summary).items()
            }
    nfe = {row["nfe"] for row in rows if row.get("nfe") is not None}
    return {
        "items": len(rows), "seconds_per_item": _mean(row.get("seconds") for row in rows),
        "nfe": nfe.pop() if len(nfe) == 1 else None, "fad": _finite(fad), "metrics": metrics,
    }  # fmt: skip


def value(result: dict[str, Any], name: str) -> float | None:
    """A headline number of :func:`system_results`: ``fad``, ``seconds_per_item`` or a metric's mean."""
    if name in ("fad", "seconds_per_item", "nfe"):
        return result.get(name)
    return result["metrics"].get(name, {}).get("mean")


def _cell(number: float | None) -> str:
    return "–" if number is None else f"{number:.2f}"


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |",
    ]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def _columns(results: dict, names: Sequence[str]) -> list[tuple[str, str]]:
    """``(benchmark, metric)`` pairs that some system has a value for, benchmark by benchmark."""
    return [
        (benchmark, name) for benchmark, systems in results.items() for name in names
        if any(value(result, name) is not None for result in systems.values())
    ]  # fmt: skip


def table_one(results: dict[str, dict[str, dict]], systems: Sequence[System]) -> str:
    """Systems (the mixture first) x each benchmark's FAD, CLAPScore, CLAPScore_A, SI-SDR, SI-SDRi, SDRi."""
    columns = _columns(results, TABLE_ONE)
    header = ["System"] + [f"{benchmark} {LABELS[name]}" for benchmark, name in columns]
    rows = [
        [system.label] + [_cell(value(results[b][system.name], n)) for b, n in columns] for system in systems
    ]
    return _markdown(header, rows)


def table_three(results: dict[str, dict[str, dict]], systems: Sequence[System]) -> str:
    """Step counts x NFE, time per item (over every benchmark) and each benchmark's headline metrics."""
    columns = _columns(results, TABLE_THREE)
    header = ["Steps", "NFE", LABELS["seconds_per_item"]] + [f"{b} {LABELS[n]}" for b, n in columns]
    rows = []
    for system in (s for s in systems if s.steps is not None):
        per_benchmark = [results[b][system.name] for b in results]
        timed = [
            (r["seconds_per_item"], r["items"]) for r in per_benchmark if r["seconds_per_item"] is not None
        ]
        seconds = sum(s * n for s, n in timed) / sum(n for _, n in timed) if timed else None
        nfe = per_benchmark[0]["nfe"]
        rows.append([str(system.steps), "–" if nfe is None else str(nfe), _cell(seconds)]
                    + [_cell(value(results[b][system.name], n)) for b, n in columns])  # fmt: skip
    return _markdown(header, rows)


def plot_metric_vs_steps(results: dict[str, dict[str, dict]], systems: Sequence[System], path: Path) -> Path:
    """One panel per metric (time per item included), one line per benchmark, against the number of steps."""
    model = [s for s in systems if s.steps is not None]
    names = [n for n in ("seconds_per_item", *TABLE_THREE) if any(value(results[b][s.name], n) is not None for b in results for s in model)]  # fmt: skip
    figure = Figure(figsize=(3.2 * len(names), 3.0), layout="constrained")
    for ax, name in zip(figure.subplots(1, len(names), squeeze=False)[0], names):
        for benchmark in results:
            points = [(s.steps, value(results[benchmark][s.name], name)) for s in model]
            points = [(x, y) for x, y in points if y is not None]
            ax.plot(*zip(*points), marker="o", label=benchmark)
        ax.set_xscale("log")
        ax.set_xticks([s.steps for s in model], [str(s.steps) for s in model])
        ax.minorticks_off()
        ax.set_xlabel("steps")
        ax.set_title(LABELS[name], fontsize=9)
    figure.axes[0].legend(fontsize=8)
    figure.savefig(path, dpi=100)
    return path


def write_figures(run: RunFolder, benchmarks: Sequence[Benchmark], systems: Sequence[System], count: int):
    """``figures/<benchmark>/<id>.png``: log-mels of the mixture, the reference and every system's output, for
    the first ``count`` items of each benchmark."""
    model, mel = [s for s in systems if s.steps is not None], MelConfig()
    for benchmark in benchmarks:
        for item in benchmark.items[:count]:
            outputs = {s.name: run.output(Job(benchmark, s, item)) for s in model}
            files = (
                {"mixture": item.mixture}
                | ({"reference": item.reference} if item.reference else {})
                | outputs
            )
            waves = {key: load_audio(path, target_sample_rate=mel.sample_rate) for key, path in files.items()}
            write_example(run.root / "figures" / benchmark.name, item.id, mel, waves)


def write_items_csv(path: Path, rows: Sequence[dict]) -> Path:
    """Per-item rows with the columns any of them has, in a fixed order."""
    head = ["benchmark", "system", "steps", "id", "query", "snr_db", "seconds", "nfe"]
    columns = head + [name for name in ITEM_METRICS if any(name in row for row in rows)]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def versions() -> dict[str, str]:
    """Versions of Python and of the packages behind the numbers."""
    found = {"python": platform.python_version()}
    for package in VERSIONED:
        try:
            found[package] = importlib.metadata.version(package.replace("_", "-"))
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def write_summary(path: Path, summary: dict[str, Any]) -> Path:
    path.write_text(
        json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )
    return path


def write_report(
    run: RunFolder,
    benchmarks: Sequence[Benchmark],
    systems: Sequence[System],
    header: dict[str, Any],
    set_scorer: SetScorer | None = None,
    figures: int = 3,
    plot: bool = False,
) -> dict[str, Any]:
    """Merge the rows of every process and write the run's results (see the module's docstring).

    Args:
        run: the run folder, every job done.
        benchmarks, systems: what was evaluated (the mixture system first).
        header: the run's description (model, settings, metric checkpoints), first in ``summary.json``.
        set_scorer: computes FAD, when asked for.
        figures: items per benchmark drawn in ``figures/``.
        plot: also write ``metric_vs_steps.png`` (with several step counts).

    Returns:
        The summary written to ``summary.json``.
    """
    rows, results, table_rows = run.read_rows(), {}, []
    for benchmark in benchmarks:
        results[benchmark.name] = {}
        for system in systems:
            jobs = [Job(benchmark, system, item) for item in benchmark.items]
            missing = [job.item.id for job in jobs if job.key not in rows]
            if missing:
                raise RuntimeError(
                    f"{benchmark.name}/{system.name}: no result for {len(missing)} items ({missing[0]})"
                )
            system_rows = [rows[job.key] for job in jobs]
            fad = None
            if set_scorer is not None:
                fad = set_scorer.fad_value(benchmark, system.name, [run.estimate_path(job) for job in jobs])
            results[benchmark.name][system.name] = {
                "label": system.label,
                "steps": system.steps,
            } | system_results(system_rows, fad)
            table_rows += system_rows
    write_items_csv(run.root / "items.csv", table_rows)
    described = {
        b.name: {"manifest": str(b.manifest), "items": len(b.items), "build": b.info} for b in benchmarks
    }
    summary = header | {"versions": versions(), "benchmarks": described, "results": results}
    write_summary(run.root / "summary.json", summary)
    model_systems = [s for s in systems if s.steps is not None]
    sections = [
        f"# Evaluation of {header['model']}",
        _describe(header),
        "## Table I: separation quality",
        table_one(results, systems),
    ]
    if len(model_systems) > 1:
        sections += ["## Table III: steps, speed and quality", table_three(results, systems)]
        if plot:
            plot_metric_vs_steps(results, systems, run.root / "metric_vs_steps.png")
    (run.root / "results.md").write_text("\n\n".join(sections) + "\n", encoding="utf-8")
    if figures:
        write_figures(run, benchmarks, systems, figures)
    return summary


def _describe(header: dict[str, Any]) -> str:
    """The settings and metric checkpoints, as a Markdown list."""
    settings = ", ".join(f"{key} {value}" for key, value in header["settings"].items())
    lines = [f"- settings: {settings}", f"- metrics: {', '.join(header['metrics'])}"]
    lines += [f"- {name} checkpoint: {checkpoint}" for name, checkpoint in header["checkpoints"].items()]
    return "\n".join(
        lines + ["- means over items; undefined items (silent references) left out; – : not computed"]
    )
