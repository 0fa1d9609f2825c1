"""Wall time of the ``flowsep`` command as a user sees it: ``flowsep --help``, a flag error, and ``flowsep separate``
of a 10 s file with the default model (imports, loading, separation and writing included), and the floor under
the last: a process that only imports the libraries every separation needs (torch, diffusers' pipeline and model
bases, transformers' model base) and exits. ``--errors`` times instead one option or file error of every command
(each must be reported before torch is imported, well under a second).

    python eval/bench_cli.py [--runs 5] [--separate-runs 3] [--steps 10] [--out eval/reports/bench_cli]
    python eval/bench_cli.py --errors --out eval/reports/bench_cli_errors

Writes ``OUT.json`` and ``OUT.md``.
Each command runs in a fresh process (``python -m flowsep.cli``, as the ``flowsep`` script does); the report gives
the median and the spread, with the machine's load average beside them (other work on the machine slows
everything: compare medians taken at a similar load).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

IMPORT_FLOOR = "; ".join(
    f"import {module}"
    for module in (
        "torch",
        "diffusers.pipelines.pipeline_utils",
        "diffusers.models.modeling_utils",
        "transformers.modeling_utils",
    )
)


def wall(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if result.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return seconds


def measure(name: str, command: list[str], runs: int, env: dict) -> dict:
    load = os.getloadavg()[0]
    times = [wall(command, env) for _ in range(runs)]
    return {"name": name, "median": statistics.median(times), "min": min(times), "max": max(times),
            "runs": runs, "load": (load + os.getloadavg()[0]) / 2}  # fmt: skip


def error_commands(folder: Path, mixture: Path) -> list[tuple[str, list[str]]]:
    """One option or file error per command (issue 21's classes), with the files they need made in ``folder``."""
    (folder / "notes.txt").write_text("not a checkpoint\n")
    (folder / "kept.jsonl").write_text("{}\n")
    recipe = Path(__file__).resolve().parent.parent / "recipes" / "tiny" / "vae.yaml"
    out = str(folder / "out.wav")
    return [
        ("separate --guidance 1e30", ["separate", str(mixture), "-q", "x", "-o", out, "--guidance", "1e30"]),
        ("separate-batch --seed 2^64", ["separate-batch", str(folder), "-o", str(folder / "o"), "-q", "x",
                                        "--seed", str(2**64)]),
        ("evaluate, benchmark not found", ["evaluate", "-b", str(folder / "none"), "-o", str(folder / "run")]),
        ("convert, a text file as checkpoint", ["convert", "official-flowsep", str(folder / "notes.txt"),
                                                str(folder / "model"), "--text-encoder", str(folder)]),
        ("app --port 70000", ["app", "--port", "70000"]),
        ("app --host of another machine", ["app", "--host", "203.0.113.5"]),
        ("build-benchmark --snr 5 -5", ["build-benchmark", "manifest", str(folder / "kept.jsonl"),
                                        str(folder / "b"), "--snr", "5", "-5"]),
        ("build-manifest, output exists", ["build-manifest", "audiocaps", str(folder), str(folder / "kept.jsonl")]),
        ("toy-corpus --seconds nan", ["toy-corpus", str(folder / "c"), "--seconds", "nan"]),
        ("train, a manifest not found", ["train", str(recipe), "--output-dir", str(folder / "r")]),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of --help and of the flag error")
    parser.add_argument("--separate-runs", type=int, default=3, help="runs of the 10 s separation")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--out", default="eval/reports/bench_cli", help="report path without extension")
    parser.add_argument("--errors", action="store_true", help="time one error of every command instead")
    args = parser.parse_args(argv)

    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    flowsep = [sys.executable, "-m", "flowsep.cli"]
    with tempfile.TemporaryDirectory() as folder:
        mixture = Path(folder) / "mix.wav"
        t = np.arange(160000) / 16000
        noise = np.random.default_rng(0).standard_normal(t.size)
        sf.write(mixture, (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * noise).astype(np.float32), 16000)
        output = str(Path(folder) / "out.wav")
        if args.errors:
            rows = [measure(name, [*flowsep, *command], args.runs, env)
                    for name, command in error_commands(Path(folder), mixture)]  # fmt: skip
            rows.append(measure("for comparison: import torch", [sys.executable, "-c", "import torch"],
                                args.separate_runs, env))  # fmt: skip
        else:
            rows = [
                measure("flowsep --help", [*flowsep, "--help"], args.runs, env),
                measure(
                    "flag error (--steps 0)",
                    [*flowsep, "separate", str(mixture), "-q", "x", "-o", output, "--steps", "0"],
                    args.runs,
                    env,
                ),  # fmt: skip
                measure(
                    "import floor: torch, diffusers, transformers",
                    [sys.executable, "-c", IMPORT_FLOOR],
                    args.separate_runs,
                    env,
                ),
                measure(
                    f"flowsep separate, 10 s, {args.steps} steps, default model",
                    [
                        *flowsep,
                        "separate",
                        str(mixture),
                        "-q",
                        "a tone",
                        "-o",
                        output,
                        "--overwrite",
                        "--steps",
                        str(args.steps),
                        "--device",
                        "cpu",
                    ],
                    args.separate_runs,
                    env,
                ),  # fmt: skip
            ]
    lines = [
        f"CPU threads: {os.cpu_count()}, python {sys.version.split()[0]}",
        "",
        "| command | median wall (s) | min | max | runs | load average (1 min) |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {r['name']} | {r['median']:.2f} | {r['min']:.2f} | {r['max']:.2f} | {r['runs']} | {r['load']:.1f} |"
              for r in rows]  # fmt: skip
    print("\n".join(lines))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(
        "# flowsep command-line timings (eval/bench_cli.py)\n\n" + "\n".join(lines) + "\n"
    )
    out.with_suffix(".json").write_text(
        json.dumps({"cpu_threads": os.cpu_count(), "rows": rows}, indent=1) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
