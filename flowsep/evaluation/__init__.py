"""Evaluation: reproducible benchmark folders built from local dataset copies, and ``flowsep evaluate`` runs.

* :mod:`~flowsep.evaluation.benchmark`: the benchmark folder format, :func:`read_benchmark`;
* :mod:`~flowsep.evaluation.kinds`: the benchmark kinds (the paper's sets) and :func:`build_benchmark`
  (``flowsep build-benchmark``; :mod:`~flowsep.evaluation.build` is its ``python -m`` alias);
* :mod:`~flowsep.evaluation.mixing`, :mod:`~flowsep.evaluation.planning`, :mod:`~flowsep.evaluation.sources`:
  how benchmark mixtures are levelled, chosen and read;
* :mod:`~flowsep.evaluation.runner`, :mod:`~flowsep.evaluation.scoring`, :mod:`~flowsep.evaluation.report`:
  separating a benchmark (resumable, across processes), scoring it, and writing tables and figures.
"""

from .benchmark import (
    Benchmark,
    BenchmarkItem,
    BenchmarkWriter,
    quantize_pcm16,
    read_benchmark,
    resolve_benchmark,
)
from .kinds import KINDS, BuildSpec, build_benchmark
from .mixing import ClipLoader, Levels, MixturePlan, mix
from .planning import random_plans

__all__ = [
    "KINDS",
    "Benchmark",
    "BenchmarkItem",
    "BenchmarkWriter",
    "BuildSpec",
    "ClipLoader",
    "Levels",
    "MixturePlan",
    "build_benchmark",
    "mix",
    "quantize_pcm16",
    "random_plans",
    "read_benchmark",
    "resolve_benchmark",
]
