"""The paper's comparison on our corpus: rectified flow against diffusion and a predictive network, one backbone.

    python eval/ablation.py --corpus data/debian-corpus --valid data/benchmarks/debian2-valid \
        --test data/benchmarks/debian2-test --train-steps 2000

Three arms of the shipped recipe (``recipes/mini-mel/flow.yaml``: the frame transformer, batch 16, the mixture
as the source, the SI-SDR waveform loss) that differ only in ``flow.objective``:

* ``flow``: rectified flow matching (FlowSep), sampled by Euler or midpoint;
* ``diffusion``: DDPM with v-prediction on the same source (:class:`~flowsep.training.DiffusionObjective`),
  sampled by DDIM or DPM-Solver++ (diffusers');
* ``predictive``: one pass from the mixture to the target (:class:`~flowsep.training.PredictiveObjective`).

Every arm trains the same number of optimisation steps of the same network on the same batches (the trainer's
data stream depends only on the seed and the step): an equal compute budget. The wall and CPU time each took
and the load average are recorded beside it. Each generative arm's solver is chosen on ``--valid-items`` valid
mixtures at 10 steps; then the test benchmark is scored once, at 1, 2, 5, 10, 25, 50 and 100 steps (the
predictive arm: its one pass), with ``flowsep evaluate``: SI-SDRi and SDRi overall and by the target's input
SNR, seconds per 10 s of audio, and FAD / CLAPScore when ``--fad-backbone`` / ``--clap`` name weights this
machine has (none are bundled; without them those columns read n/a).

Resumable: a rerun continues an unfinished training from its last checkpoint and skips what is done (each arm's
``train.json``, pipeline folder and evaluation runs under ``--runs``). Writes ``--report``.{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
from evaluate_default_model import si_sdri_by_snr  # eval/, beside this script

from flowsep.evaluation.layout import RunFolder

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes" / "mini-mel"
ARMS = {"flow": ("euler", "midpoint"), "diffusion": ("ddim", "dpmsolver++"), "predictive": ("predictive",)}
STEPS = (1, 2, 5, 10, 25, 50, 100)
BAND_NAMES = ("buried", "comparable", "dominant")  # evaluate_default_model.SNR_BANDS, the target's input SNR


def run(command: list[str]) -> None:
    """Run one step of the ablation as a child process; stop the whole run if it fails."""
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def train(arm: str, folder: Path, args) -> dict:
    """Train (or resume) the arm's flow stage; ``train.json`` records the steps, wall and CPU seconds and load."""
    record_path = folder / "train.json"
    if record_path.is_file():
        return json.loads(record_path.read_text())
    overrides = {
        "flow.objective": arm, "trainer.max_steps": args.train_steps, "trainer.validation_steps": args.train_steps,
        "resume": "latest", "data.train": [f"{args.corpus}/train.jsonl"], "data.valid": [f"{args.corpus}/valid.jsonl"],
    }  # fmt: skip
    sets = [arg for key, value in overrides.items() for arg in ("--set", f"{key}={json.dumps(value)}")]
    load, wall, cpu = os.getloadavg()[0], time.perf_counter(), _children_cpu()
    run(
        [
            sys.executable,
            "-m",
            "flowsep.train",
            str(RECIPES / "flow.yaml"),
            "--output-dir",
            str(folder / "flow"),
            *sets,
        ]
    )
    record = {
        "steps": args.train_steps, "wall_seconds": time.perf_counter() - wall, "cpu_seconds": _children_cpu() - cpu,
        "load_before": load, "load_after": os.getloadavg()[0], "threads": os.environ.get("OMP_NUM_THREADS"),
        "note": "times of this invocation only when the training was resumed",
    }  # fmt: skip
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    return record


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def assemble(folder: Path, args) -> Path:
    pipeline = folder / "pipeline"
    if not (pipeline / "model_index.json").is_file():
        sets = ["--set", f"assemble.transformer={folder / 'flow'}", "--set", "assemble.scheduler=null"]
        sets += ["--set", f"data.train=[{args.corpus}/train.jsonl]"]
        run(
            [
                sys.executable,
                "-m",
                "flowsep.train",
                str(RECIPES / "assemble.yaml"),
                "--output-dir",
                str(pipeline),
                *sets,
            ]
        )
    return pipeline


def evaluate(
    pipeline: Path, benchmark: str, out: Path, solver: str, steps, limit: int, metrics: list[str], args
) -> dict:
    """``flowsep evaluate`` (resumable); its ``summary.json`` and the per-item rows."""
    command = [
        sys.executable, "-m", "flowsep.cli", "evaluate", "-b", benchmark, "-o", str(out), "--model", str(pipeline),
        "--solver", solver, "--steps", *map(str, steps), "--limit", str(limit), "--metrics", *metrics,
        "--figures", "0",
    ]  # fmt: skip
    if args.fad_backbone:
        command += ["--fad-backbone", args.fad_backbone]
    if args.clap:
        command += ["--clap-checkpoint", args.clap]
    if not (out / "summary.json").is_file():
        run(command)
    rows = list(RunFolder(out).read_rows().values())
    return {"summary": json.loads((out / "summary.json").read_text()), "rows": rows}


def system_table(evaluation: dict, seconds_per_item_audio: float) -> list[dict]:
    """One dict per system of an evaluation run: steps, NFE, seconds per 10 s, metrics overall and by band."""
    results = next(iter(evaluation["summary"]["results"].values()))
    table = []
    for name, result in results.items():
        if result["steps"] is None:
            continue
        rows = [row for row in evaluation["rows"] if row["system"] == name]
        entry = {
            "steps": result["steps"], "nfe": result["nfe"], "items": result["items"],
            "seconds_per_10s": result["seconds_per_item"] * 10.0 / seconds_per_item_audio,
            "si_sdri": result["metrics"]["si_sdri"]["mean"], "sdri": result["metrics"]["sdri"]["mean"],
            "fad": result.get("fad"), "clap_score": result["metrics"].get("clap_score", {}).get("mean"),
        }  # fmt: skip
        bands = si_sdri_by_snr(
            torch.tensor([r["si_sdri"] for r in rows]), torch.tensor([r["snr_db"] for r in rows])
        )
        for band, result in zip(BAND_NAMES, bands.values(), strict=True):
            entry[f"si_sdri_{band}"] = result["mean"] if result["items"] else None
        table.append(entry)
    return sorted(table, key=lambda entry: entry["steps"])


def item_seconds(benchmark: str) -> float:
    """Seconds of audio per item of a built benchmark (its build settings)."""
    info = json.loads((Path(benchmark) / "benchmark.json").read_text())
    return float(info["segment_seconds"])


def markdown(result: dict) -> str:
    def cell(value):
        return "n/a" if value is None else f"{value:.2f}"

    lines = [
        f"Test benchmark `{result['test']}` ({result['test_items']} items, {result['item_seconds']:g} s each); "
        f"equal budget: {result['train_steps']} optimisation steps of batch 16 per arm, same network and batches.",
        "",
        "| arm | trained (wall min / CPU min, load) | solver (valid SI-SDRi at 10 steps) |",
        "|---|---|---|",
    ]
    for arm, entry in result["arms"].items():
        t = entry["training"]
        choice = ", ".join(f"{s} {cell(v)}" for s, v in entry["valid"].items())
        lines.append(
            f"| {arm} | {t['wall_seconds'] / 60:.1f} / {t['cpu_seconds'] / 60:.1f}, "
            f"{t['load_before']:.1f}-{t['load_after']:.1f} | **{entry['solver']}** ({choice}) |"
        )
    lines += [
        "",
        "| arm | steps | NFE | s per 10 s | SI-SDRi | SDRi | buried | comparable | dominant | FAD | CLAPScore |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for arm, entry in result["arms"].items():
        for row in entry["test"]:
            numbers = [row[key] for key in ("seconds_per_10s", "si_sdri", "sdri")] + [
                row[f"si_sdri_{band}"] for band in BAND_NAMES
            ]
            lines.append(
                f"| {arm} | {row['steps']} | {row['nfe']} | "
                + " | ".join(cell(v) for v in [*numbers, row["fad"], row["clap_score"]])
                + " |"
            )
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.4, 4.0))
    for arm, entry in result["arms"].items():
        rows = entry["test"]
        x, y = [r["seconds_per_10s"] for r in rows], [r["si_sdri"] for r in rows]
        axis.plot(x, y, marker="o", label=f"{arm} ({entry['solver']})")
        for row in rows:
            axis.annotate(str(row["steps"]), (row["seconds_per_10s"], row["si_sdri"]), fontsize=7)
    axis.set_xscale("log")
    axis.set_xlabel("seconds per 10 s of audio on this CPU (log)")
    axis.set_ylabel("SI-SDRi (dB), test")
    axis.set_title("Flow vs diffusion vs predictive, same backbone and budget")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", default="data/debian-corpus", help="corpus folder with train/valid.jsonl")
    parser.add_argument("--valid", default="data/benchmarks/debian2-valid", help="built valid benchmark")
    parser.add_argument("--test", default="data/benchmarks/debian2-test", help="built test benchmark")
    parser.add_argument("--train-steps", type=int, default=2000, help="optimisation steps per arm")
    parser.add_argument("--valid-items", type=int, default=100)
    parser.add_argument("--test-items", type=int, default=100)
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    parser.add_argument("--fad-backbone", default=None, help="FAD backbone whose weights are here (optional)")
    parser.add_argument("--clap", default=None, help="CLAP checkpoint folder for CLAPScore (optional)")
    parser.add_argument("--runs", default="runs/ablation", help="folder of the arms' runs (rerun to resume)")
    parser.add_argument("--report", default="eval/reports/ablation", help="report path without extension")
    args = parser.parse_args(argv)
    for name in ("corpus", "valid", "test"):
        if not Path(getattr(args, name)).exists():
            parser.error(f"--{name}: {getattr(args, name)} does not exist")
    if args.train_steps < 1 or args.valid_items < 1 or args.test_items < 1:
        parser.error("--train-steps, --valid-items and --test-items must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    metrics = ["sisdr"] + (["fad"] if args.fad_backbone else []) + (["clap"] if args.clap else [])
    seconds = item_seconds(args.test)
    result = {
        "test": args.test, "test_items": args.test_items, "valid": args.valid, "valid_items": args.valid_items,
        "item_seconds": seconds, "train_steps": args.train_steps, "metrics": metrics, "arms": {},
    }  # fmt: skip
    for arm in args.arms:
        folder = Path(args.runs) / arm
        training = train(arm, folder, args)
        pipeline = assemble(folder, args)
        valid = {}
        for solver in ARMS[arm]:
            evaluation = evaluate(
                pipeline,
                args.valid,
                folder / f"valid-{solver}",
                solver,
                [10],
                args.valid_items,
                ["sisdr"],
                args,
            )
            valid[solver] = system_table(evaluation, item_seconds(args.valid))[0]["si_sdri"]
        solver = max(valid, key=valid.get)
        steps = STEPS if arm != "predictive" else (1,)
        test = evaluate(pipeline, args.test, folder / "test", solver, steps, args.test_items, metrics, args)
        result["arms"][arm] = {
            "training": training,
            "valid": valid,
            "solver": solver,
            "test": system_table(test, seconds),
        }
    report = Path(args.report)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    report.with_suffix(".md").write_text(markdown(result))
    plot(result, report.with_suffix(".png"))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
