"""Mutation score of flowsep's numerical core, with mutmut (https://pypi.org/project/mutmut/).

    pip install "mutmut==3.8.1"
    nice -n 10 python eval/mutation.py            # about 30-60 min on 2 cores; writes eval/reports/mutation.json

The committed tree (``git archive HEAD``, so that edits in progress do not leak in) is unpacked into a scratch
folder with a ``setup.cfg`` that points mutmut at the core modules and at the fast tests that pin them. Mutants
run in mutmut's fork server (torch is not fork-safe) on ``--max-children`` processes. Only the functions named
in :data:`SCOPE` are scored (guidance and the ODE loop in the pipeline, the level functions in ``audio``).
Mutants listed in :data:`EQUIVALENT` cannot change behaviour; they are reported with the reason and left out
of the score. The report is ``{"killed", "survived", "equivalent", "timeout", "score", "survivors",
"equivalents", ...}``, with ``score = killed / (killed + survived)`` over non-equivalent mutants (timeouts
count as killed: a mutant that hangs the tests is caught).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MODULES = [
    "flowsep/flow.py",
    "flowsep/training/objective.py",
    "flowsep/schedulers.py",
    "flowsep/pipelines/pipeline_flowsep.py",
    "flowsep/decoding.py",
    "flowsep/windowing.py",
    "flowsep/metrics/separation.py",
    "flowsep/audio.py",
]

# mutmut's mutant-name patterns (fnmatch) of the scored functions
SCOPE = [
    "flowsep.flow.*",
    "flowsep.training.objective.*",
    "flowsep.schedulers.*",
    "flowsep.pipelines.pipeline_flowsep.xǁFlowSepPipelineǁ_velocity__mutmut_*",
    "flowsep.pipelines.pipeline_flowsep.xǁFlowSepPipelineǁ_solve__mutmut_*",
    "flowsep.decoding.*",
    "flowsep.windowing.*",
    "flowsep.metrics.separation.*",
    *(
        f"flowsep.audio.x_{name}__mutmut_*"
        for name in (
            "rms", "scale_to_snr", "snr_db", "loudness_lufs", "loudness_gain", "normalize_loudness",
            "normalize_mixture", "load_audio", "resample",
        )
    ),
]  # fmt: skip

TESTS = [
    "tests/test_known_answers_flow.py",
    "tests/test_known_answers_signal.py",
    "tests/test_known_answers_pipeline.py",
    "tests/test_known_answers_evaluation.py",
    "tests/test_long_audio.py",
    "tests/test_metrics.py",
    "tests/test_audio.py",
    "tests/test_training.py::test_flow_matching_objective",
    "tests/test_training.py::test_mixture_source_objective_regresses_mixture_minus_target",
    "tests/test_pipeline.py",
]

# mutant name -> why it cannot change behaviour, read from its diff (`mutmut show NAME` in the scratch folder).
# mutmut numbers mutants per function, so the names hold for the source they were read from: after a change to
# one of these functions, check its entries again (a name whose diff no longer matches is simply not found).
_CPU = "the tests run on the CPU, where device=None (or no device) is the same device"
EQUIVALENT: dict[str, str] = {
    **{f"flowsep.flow.x_sample_sigmas__mutmut_{n}": _CPU for n in (13, 16, 26, 29)},
    **{
        f"flowsep.flow.x_sample_sigmas__mutmut_{n}": "clamp's upper bound 1.0 -> None/2.0: rand() < 1 and "
        "sigmoid() <= 1 never exceed it"
        for n in (32, 34, 36)
    },
    **{
        f"flowsep.training.objective.xǁFlowMatchingObjectiveǁ__call____mutmut_{n}": _CPU
        for n in (8, 10, 20, 38, 39)
    },
    "flowsep.training.objective.xǁFlowMatchingObjectiveǁ__call____mutmut_36": "rand() < p -> rand() <= p: differs "
    "only when a float32 uniform draw equals p exactly (probability about 2**-24 per row)",
    **{f"flowsep.audio.x_scale_to_snr__mutmut_{n}": _CPU for n in (4, 7)},
    **{
        f"flowsep.audio.x_loudness_lufs__mutmut_{n}": "np.asarray(wave, float64) -> without dtype: pyloudnorm "
        "filters in float64 whatever it is given (bit-identical result)"
        for n in (11, 13)
    },
    "flowsep.audio.x_loudness_lufs__mutmut_17": "reshape(-1) -> reshape(-2): numpy infers any negative size",
    "flowsep.audio.x_loudness_lufs__mutmut_23": "padding to one block plus 2 samples instead of plus 1: the extra "
    "zero lies past the only 400 ms gating block",
    "flowsep.audio.x_loudness_lufs__mutmut_24": "size < min_len -> <=: when equal the padding adds zero samples",
    "flowsep.audio.x_loudness_lufs__mutmut_39": "isfinite(value) or True: float(-inf) is -inf, the other branch",
    "flowsep.metrics.separation.x_sdr__mutmut_35": 'float("nan") -> float("NAN"): Python parses both',
    "flowsep.metrics.separation.x__apply_conventions__mutmut_33": 'float("nan") -> float("NAN"): Python parses both',
    **{f"flowsep.schedulers.xǁFlowMatchMidpointSchedulerǁset_timesteps__mutmut_{n}": _CPU for n in (41, 44)},
    "flowsep.schedulers.xǁFlowMatchMidpointSchedulerǁstep__mutmut_25": "_interval_start = '' instead of None "
    "after an interval: the next interval's first call overwrites it before it is read",
    "flowsep.schedulers.xǁFlowMatchMidpointSchedulerǁset_timesteps__mutmut_49": "_interval_start = '' instead of "
    "None on reset: the first step overwrites it before it is read",
}


def export_tree(work: Path) -> None:
    """The committed tree, unpacked into ``work`` (replacing what is there)."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    archive = work / "head.tar"
    subprocess.run(["git", "archive", "--format=tar", "-o", str(archive), "HEAD"], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    archive.unlink()


def write_config(work: Path, max_children: int) -> None:
    lines = ["[mutmut]", "source_paths = flowsep", "only_mutate ="]
    lines += [f"    {module}" for module in MODULES]
    lines += ["pytest_add_cli_args_test_selection ="] + [f"    {test}" for test in TESTS]
    lines += ["pytest_add_cli_args =", "    -p", "    no:cacheprovider", "    -W", "    ignore"]
    lines += [
        "process_isolation = forkserver",
        "use_git_change_detection = false",
        "timeout_multiplier = 10.0",
    ]
    (work / "setup.cfg").write_text("\n".join(lines) + "\n")


def mutmut(work: Path, *args: str, check: bool = True) -> str:
    env = os.environ | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mutmut", *args], cwd=work, env=env, capture_output=True, text=True
    )
    if check and done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"mutmut {' '.join(args[:1])} failed with exit code {done.returncode}")
    return done.stdout


def statuses(work: Path) -> dict[str, str]:
    """``mutant name -> status`` for every scored mutant."""
    out = mutmut(work, "results", "--all", "true")
    found = {}
    for line in out.splitlines():
        match = re.match(r"\s*(\S+__mutmut_\d+): (.+)$", line)
        if match:
            found[match.group(1)] = match.group(2).strip()
    return {name: status for name, status in found.items() if any(fnmatch.fnmatch(name, p) for p in SCOPE)}


def diff_of(work: Path, name: str) -> str:
    lines = mutmut(work, "show", name, check=False).splitlines()
    changed = [line for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    return " | ".join(line.strip() for line in changed)[:300]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "flowsep-mutation"))
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--resume", action="store_true", help="keep the scratch folder and mutmut's results")
    parser.add_argument(
        "--rerun-survivors", action="store_true",
        help="with --resume: bring in HEAD's tests and run only the mutants that survived the last run",
    )  # fmt: skip
    parser.add_argument("--report-only", action="store_true", help="with --resume: only write the report")
    parser.add_argument("-o", "--output", default=str(ROOT / "eval" / "reports" / "mutation.json"))
    args = parser.parse_args(argv)
    work = Path(args.work)
    start = time.time()
    if not args.resume:
        export_tree(work)
    write_config(work, args.max_children)
    if args.report_only:
        pass
    elif args.rerun_survivors:
        survivors = [
            n for n, s in statuses(work).items() if s not in ("killed", "timeout") and n not in EQUIVALENT
        ]
        fresh = work.with_name(work.name + "-head")
        export_tree(fresh)
        shutil.rmtree(work / "tests")
        shutil.copytree(fresh / "tests", work / "tests")
        shutil.rmtree(fresh)
        if survivors:
            mutmut(work, "run", "--max-children", str(args.max_children), *survivors, check=False)
    else:
        mutmut(work, "run", "--max-children", str(args.max_children), *SCOPE, check=False)
    found = statuses(work)
    killed = sorted(n for n, s in found.items() if s in ("killed", "timeout") and n not in EQUIVALENT)
    equivalent = sorted(n for n in found if n in EQUIVALENT)
    unchecked = sorted(n for n, s in found.items() if s == "not checked")
    survivors = sorted(n for n in found if n not in EQUIVALENT and n not in killed and n not in unchecked)
    report = {
        "tool": f"mutmut {mutmut(work, '--version').split()[-1]}",
        "command": "nice -n 10 python eval/mutation.py"
        + (" --resume --rerun-survivors" if args.rerun_survivors else ""),
        "commit": subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "modules": MODULES,
        "scope": SCOPE,
        "tests": TESTS,
        "killed": len(killed),
        "survived": len(survivors),
        "equivalent": len(equivalent),
        "timeout": sum(found[n] == "timeout" for n in killed),
        "not_checked": len(unchecked),
        "score": round(len(killed) / max(1, len(killed) + len(survivors)), 4),
        "by_module": {},
        "survivors": [{"mutant": n, "status": found[n], "diff": diff_of(work, n)} for n in survivors],
        "equivalents": [{"mutant": n, "why": EQUIVALENT[n]} for n in equivalent],
        "seconds": round(time.time() - start),
    }
    for name in found:
        module = name.split(".x")[0] if ".x" in name else name.rsplit(".", 1)[0]
        counts = report["by_module"].setdefault(module, {"killed": 0, "survived": 0, "equivalent": 0})
        if name in unchecked:
            continue
        key = "equivalent" if name in EQUIVALENT else ("killed" if name in killed else "survived")
        counts[key] += 1
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"killed {len(killed)}, survived {len(survivors)}, equivalent {len(equivalent)}: "
          f"score {report['score']:.1%} in {report['seconds']} s -> {args.output}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
