"""Compare FlowSepTransformer token layouts and attention patterns at equal CPU time (issue 20, step 2).

Runs ``eval/probe_mel_separation.py`` once per arm (``frame``, ``patch2d``, ``axial``; see its ``ARCHS``), each in
its own process with one thread and a CPU-time budget, side by side (``--parallel``), on the same valid mixtures;
an arm whose curve already exists under ``--runs`` is not run again. Then writes the curves (valid SI-SDRi against
CPU minutes, overall and per input-SNR band) as ``<out>.png``, and ``<out>.json`` / ``<out>.md``::

    python eval/compare_architectures.py --data data/split-v1 --cpu-minutes 25
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

BANDS = ("< -5 dB", "-5..5 dB", "> 5 dB")
EVAL_EVERY = {"frame": 400, "patch2d": 160, "axial": 160}  # about the same CPU time between evaluations


def run_arms(arms: list[str], args) -> None:
    """Start the probe of every arm without a curve, ``args.parallel`` at a time, and wait for them."""
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    todo = [arm for arm in arms if not (runs / f"{arm}.json").exists()]
    env = os.environ | {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    probe = Path(__file__).with_name("probe_mel_separation.py")
    while todo:
        batch, todo = todo[: args.parallel], todo[args.parallel :]
        processes = []
        for arm in batch:
            command = [
                sys.executable, str(probe), "--arch", arm, "--data", args.data, "--cpu-minutes", str(args.cpu_minutes),
                "--eval_every", str(EVAL_EVERY[arm]), "--out", str(runs / f"{arm}.json"),
                "--save", str(runs / f"{arm}-model"),
            ]  # fmt: skip
            print("running", " ".join(command), flush=True)
            log = open(runs / f"{arm}.log", "w")  # noqa: SIM115 (closed when the process ends)
            processes.append((subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env), log))
        for process, log in processes:
            if process.wait():
                raise SystemExit(f"an arm failed; see {log.name}")
            log.close()


def summarize(arms: list[str], runs: Path) -> dict:
    """Each arm's curve and its last point: ``{arm: {"args", "history", "final"}}``."""
    result = {}
    for arm in arms:
        data = json.loads((runs / f"{arm}.json").read_text())
        result[arm] = data | {"final": data["history"][-1]}
    return result


def model_facts(folder: Path) -> dict:
    """The saved arm's transformer config and parameter count (millions)."""
    from safetensors import safe_open

    with safe_open(str(folder / "diffusion_pytorch_model.safetensors"), "np") as weights:
        params = sum(weights.get_tensor(name).size for name in weights.keys())  # noqa: SIM118
    return {"transformer_config": json.loads((folder / "config.json").read_text()), "params_m": params / 1e6}


def markdown(result: dict) -> str:
    lines = [
        "| arm | params (M) | steps | CPU min | valid SI-SDRi (dB) | " + " | ".join(BANDS) + " |",
        "|---|---:|---:|---:|---:|" + "---:|" * len(BANDS),
    ]
    for arm, data in result.items():
        final = data["final"]
        bands = " | ".join(f"{value:.2f}" for value in final["bands"])
        lines.append(
            f"| {arm} | {data.get('params_m', float('nan')):.2f} | {final['step']} | {final['cpu_sec'] / 60:.1f} | "
            f"{final['si_sdri']:.2f} | {bands} |"
        )
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 1 + len(BANDS), figsize=(15, 3.6), sharex=True)
    for arm, data in result.items():
        minutes = [point["cpu_sec"] / 60 for point in data["history"]]
        axes[0].plot(minutes, [point["si_sdri"] for point in data["history"]], marker="o", label=arm)
        for band, axis in enumerate(axes[1:]):
            axis.plot(minutes, [point["bands"][band] for point in data["history"]], marker=".", label=arm)
    axes[0].set_title("valid SI-SDRi, all mixtures")
    for band, axis in zip(BANDS, axes[1:]):
        axis.set_title(f"input SNR {band}")
    for axis in axes:
        axis.set_xlabel("CPU minutes (one thread)")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("SI-SDRi (dB)")
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--arms", nargs="+", default=list(EVAL_EVERY), choices=list(EVAL_EVERY))
    parser.add_argument(
        "--data", default="data/debian-corpus", help="folder with train.jsonl and valid.jsonl"
    )
    parser.add_argument("--cpu-minutes", type=float, default=25.0)
    parser.add_argument("--parallel", type=int, default=3, help="arms run at once, one thread each")
    parser.add_argument("--runs", default="runs/arch", help="folder of the arms' curves, logs and models")
    parser.add_argument("--out", default="eval/reports/architectures")
    args = parser.parse_args()
    run_arms(args.arms, args)
    result = summarize(args.arms, Path(args.runs))
    for arm in result:
        result[arm] |= model_facts(Path(args.runs) / f"{arm}-model")
    text = markdown(result)
    print(text)
    Path(args.out + ".json").write_text(json.dumps(result, indent=1))
    Path(args.out + ".md").write_text(text)
    plot(result, Path(args.out + ".png"))
    print(f"wrote {args.out}.json, .md and .png")


if __name__ == "__main__":
    main()
