"""Evaluation: reproducible benchmark folders built from local dataset copies, and ``flowsep evaluate`` runs.

* :mod:`~flowsep.evaluation.benchmark`: the benchmark folder format, :func:`read_benchmark`;
* :mod:`~flowsep.evaluation.kinds`: the benchmark kinds (the paper's sets) and :func:`build_benchmark`
  (``flowsep build-benchmark``; :mod:`~flowsep.evaluation.build` is its ``python -m`` alias);
* :mod:`~flowsep.evaluation.mixing`, :mod:`~flowsep.evaluation.planning`, :mod:`~flowsep.evaluation.sources`:
  how benchmark mixtures are levelled, chosen and read;
* :mod:`~flowsep.evaluation.runner`, :mod:`~flowsep.evaluation.scoring`, :mod:`~flowsep.evaluation.report`:
  separating a benchmark (resumable, across processes), scoring it, and writing tables and figures.
"""

# Imported on first use (PEP 562): reading a benchmark (the command line's checks) does not import torch.
from ..lazy import lazy_attributes

_LAZY = {
    **dict.fromkeys(
        (
            "Benchmark",
            "BenchmarkItem",
            "BenchmarkWriter",
            "quantize_pcm16",
            "read_benchmark",
            "resolve_benchmark",
        ),
        ".benchmark",
    ),
    **dict.fromkeys(("KINDS", "BuildSpec", "build_benchmark"), ".kinds"),
    **dict.fromkeys(("ClipLoader", "Levels", "MixturePlan", "mix"), ".mixing"),
    "random_plans": ".planning",
}

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())

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
