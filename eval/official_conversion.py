"""Convert a full-size random-weight checkpoint laid out exactly like the official FlowSep one, and separate.

Stands in for ``v2_100k.ckpt`` (same names, shapes and Lightning wrapping, random values): writes it, converts it
with ``flowsep convert official-flowsep``, loads the pipeline, and separates a 30 s mixture with
``flowsep separate --decoder vocoder`` and ``--decoder mask``. Reports parameters per component, file sizes,
wall times and the peak memory of each step (each runs in its own process).

    python eval/official_conversion.py [--work /tmp/flowsep-official] [--seconds 30] [--steps 2]

Writes ``eval/reports/official_conversion.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def folder_mb(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 2**20


def child(argv: list[str]) -> tuple[float, float]:
    """Run ``flowsep ARGV`` in a fresh process: (wall seconds, its peak resident memory in GiB)."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "flowsep.cli", *argv])
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"flowsep {' '.join(argv)} failed")
    return time.perf_counter() - start, usage.ru_maxrss / 2**20


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", default="/tmp/flowsep-official", help="scratch folder (about 6 GB)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the mixture to separate")
    parser.add_argument("--steps", type=int, default=2, help="ODE steps of the separations")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--out", default="eval/reports/official_conversion.json")
    args = parser.parse_args()

    from flowsep.conversion.synthetic import FULL, write_synthetic_checkpoint

    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    (checkpoint, text_dir), write_s = timed(lambda: write_synthetic_checkpoint(work, FULL))
    print(f"wrote {checkpoint} ({checkpoint.stat().st_size / 2**30:.2f} GiB) in {write_s:.0f} s", flush=True)
    model = work / "flowsep-official"
    convert = ["convert", "official-flowsep", str(checkpoint), str(model), "--text-encoder", str(text_dir)]
    convert_s, convert_rss = child(convert)
    report = json.loads((model / "conversion_report.json").read_text())
    mixture = work / "mixture.wav"
    rng = np.random.default_rng(0)
    t = np.arange(int(args.seconds * 16000)) / 16000
    wave = 0.2 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    sf.write(mixture, wave.astype(np.float32), 16000)
    runs = {}
    for decoder in ("vocoder", "mask"):
        output = work / f"{decoder}.wav"
        argv = ["separate", str(mixture), "-q", "a dog barking", "-o", str(output), "--model", str(model)]
        seconds, rss = child([*argv, "--decoder", decoder, "--steps", str(args.steps), "--device", "cpu"])
        audio, _ = sf.read(output)
        runs[decoder] = {"wall_s": seconds, "peak_rss_gib": rss, "samples": len(audio),
                         "finite": bool(np.isfinite(audio).all())}  # fmt: skip
        print(f"separate --decoder {decoder}: {seconds:.0f} s, {len(audio)} samples", flush=True)
    result = {
        "checkpoint_gib": checkpoint.stat().st_size / 2**30,
        "write_checkpoint_s": write_s,
        "convert_s": convert_s,
        "convert_peak_rss_gib": convert_rss,
        "model_folder_mib": folder_mb(model),
        "parameters_m": {name: count / 1e6 for name, count in report["parameters"].items()},
        "tensors": report["tensors"],
        "unused_by_design": report["unused_by_design"],
        "unused": report["unused"],
        "notes": report["notes"],
        "mixture_s": args.seconds,
        "steps": args.steps,
        "separate": runs,
        "threads": torch.get_num_threads(),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(result, indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
