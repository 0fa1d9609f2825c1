"""Two queries in one pass against one query: in-process wall time on one 10 s mixture, and the files' sum.

Times (medians of ``--repeats`` runs after a warm-up, in one process with the libraries imported): the pipeline
call alone (``pipe(query, ...)`` against ``pipe([q1, q2], ..., joint=True)``), and the whole ``flowsep separate``
command run in-process (load the model, read, separate, write) with ``-q q1`` against ``-q q1 -q q2``. Checks that
the files written for two queries plus ``<name>.rest.wav`` add up to the input. Writes
``eval/reports/bench_queries.json`` and prints a table with the load average::

    python eval/bench_queries.py [--rate 16000 --channels 1] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from query_mixtures import build_mixtures  # noqa: E402

from flowsep import load_pipeline  # noqa: E402
from flowsep.cli import main as flowsep  # noqa: E402

QUERIES = ("a man speaking", "music playing")


def timed(function, repeats: int) -> list[float]:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=16000)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="eval/reports/bench_queries.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    item = next(m for m in build_mixtures(10.0, formats=((args.rate, args.channels),)) if m.kind == "music")
    pipe = load_pipeline(None, "cpu")
    pipe.set_progress_bar_config(disable=True)
    kwargs = {"sample_rate": item.rate, "output_format": "input", "return_residual": True}
    rows = {
        "pipeline, 1 query": timed(lambda: pipe(QUERIES[0], item.mixture, **kwargs), args.repeats),
        "pipeline, 2 queries (joint)": timed(lambda: pipe(list(QUERIES), item.mixture, joint=True, **kwargs), args.repeats),
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "mix.wav"
        sf.write(source, item.mixture.T, item.rate, subtype="FLOAT")
        one = ["separate", str(source), "-q", QUERIES[0], "-o", str(Path(folder) / "one.wav"), "--overwrite"]
        two = [
            "separate",
            str(source),
            "-q",
            QUERIES[0],
            "-q",
            QUERIES[1],
            "-o",
            str(Path(folder) / "two"),
            "--overwrite",
        ]
        rows["flowsep separate in-process, 1 query"] = timed(lambda: flowsep(one), args.repeats)
        rows["flowsep separate in-process, 2 queries"] = timed(lambda: flowsep(two), args.repeats)
        written = [
            sf.read(path, dtype="float32", always_2d=True)[0]
            for path in sorted((Path(folder) / "two").glob("*.wav"))
        ]
        error = float(np.abs(sum(written) - sf.read(source, dtype="float32", always_2d=True)[0]).max())
    medians = {name: statistics.median(times) for name, times in rows.items()}
    report = {
        "mixture": f"{item.name}, 10 s", "queries": QUERIES, "repeats": args.repeats, "load_average": os.getloadavg(),
        "threads": torch.get_num_threads(), "times": rows, "medians": medians,
        "ratio_pipeline": medians["pipeline, 2 queries (joint)"] / medians["pipeline, 1 query"],
        "ratio_command": medians["flowsep separate in-process, 2 queries"] / medians["flowsep separate in-process, 1 query"],
        "files_sum_max_error": error, "files": len(written),
    }  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print("| run | median | min | max |\n|---|---:|---:|---:|")
    for name, times in rows.items():
        print(f"| {name} | {medians[name]:.2f} s | {min(times):.2f} s | {max(times):.2f} s |")
    print(f"2 queries / 1 query: pipeline {report['ratio_pipeline']:.2f}x, command {report['ratio_command']:.2f}x; "
          f"{len(written)} files sum to the input within {error:.1e}; load average {report['load_average']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
