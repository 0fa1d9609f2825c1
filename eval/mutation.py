"""Mutation score of flowsep's numerical core, with mutmut (https://pypi.org/project/mutmut/).

    pip install "mutmut==3.8.1"
    nice -n 10 python eval/mutation.py            # hours on 2 quiet cores; writes eval/reports/mutation.json
    python eval/mutation.py --resume              # after an interruption: the mutants not run yet
    python eval/mutation.py --resume --rerun-survivors   # after new tests: HEAD's tests on the survivors
    python eval/mutation.py --only flowsep/data/augment.py --tests tests/test_augment.py -o /tmp/smoke.json
    python eval/mutation.py --resume --report-only   # from another shell during a run: report and state so far

The committed tree (``git archive HEAD``, so that edits in progress do not leak in) is unpacked into a scratch
folder with a ``setup.cfg`` that points mutmut at the core modules and at the fast tests that pin them. Mutants
run in mutmut's fork server (torch is not fork-safe) on ``--max-children`` processes. Only the functions named
in :data:`SCOPE` are scored (every function of the listed modules; in ``audio`` the level functions only).
``--only`` and ``--tests`` narrow the run to some modules and tests (a smoke check of a new scope).
Mutants listed in ``eval/mutation_equivalents.yaml`` (by function and diff) cannot change behaviour; they are
reported with the reason and left out of the score. The report is ``{"killed", "survived", "equivalent",
"timeout", "score", "survivors", "equivalents", "stale_equivalents", ...}`` (and the per-module table beside it
in Markdown), with ``score = killed / (killed + survived)`` over non-equivalent mutants (timeouts count as
killed: a mutant that hangs the tests is caught).

A full run takes hours and a session may end on a fresh machine, so every report also writes
``eval/reports/mutation_state.json`` (each mutant's verdict and each mutated function's source hash; commit it).
A new run (not ``--resume``) seeds mutmut's results from it, and mutmut then runs only the mutants of functions
whose source changed (its own rule for its ``mutants/`` folder); when the test selection changed since, only the
killed verdicts are kept. ``--fresh`` ignores the state.
"""

from __future__ import annotations

import argparse
import fnmatch
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import yaml

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
    # what passes between the parts (issue 25): recipe to stage, data and augmentation, reports, commands
    "flowsep/training/stage_flow.py",
    "flowsep/training/data.py",
    "flowsep/data/augment.py",
    "flowsep/evaluation/report.py",
    "flowsep/commands/*",
    "flowsep/pipelines/*",
]

# mutmut's mutant-name patterns (fnmatch) of the scored functions
SCOPE = [
    "flowsep.flow.*",
    "flowsep.training.objective.*",
    "flowsep.schedulers.*",
    "flowsep.pipelines.*",
    "flowsep.decoding.*",
    "flowsep.windowing.*",
    "flowsep.metrics.separation.*",
    "flowsep.training.stage_flow.*",
    "flowsep.training.data.*",
    "flowsep.data.augment.*",
    "flowsep.evaluation.report.*",
    "flowsep.commands.*",
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
    "tests/test_known_answers_decoding.py",
    "tests/test_known_answers_pipeline.py",
    "tests/test_known_answers_evaluation.py",
    "tests/test_long_audio.py",
    "tests/test_metrics.py",
    "tests/test_audio.py",
    "tests/test_training.py",
    "tests/test_pipeline.py",
    "tests/test_known_answers_waveform_loss.py",
    "tests/test_recipes_reach_components.py",
    "tests/test_pipeline_calls.py",
    "tests/test_augment.py",
    "tests/test_data.py",
    "tests/test_report_tables.py",
    "tests/test_evaluation.py",
    "tests/test_cli.py",
    "tests/test_cli_contract.py",
    "tests/test_app.py",
    "tests/test_conversion.py",
    "tests/test_default_model.py",
    "tests/test_objectives.py",
    "tests/test_queries.py",
    "tests/test_mel_codec.py",
    "tests/test_device_mixing.py",
    "tests/test_api_values.py",
    "tests/test_contract_tables.py",
    "tests/test_contract_writes.py",
    "tests/test_network.py",
    "tests/test_batch_jobs.py",
    "tests/test_cli_help.py",
]

# what the tests read beside the package and the tests (mutmut copies only these into its scratch tree)
ALSO_COPY = ["recipes", "checkpoints", "eval", "README.md", "sitecustomize.py"]
# pytest-benchmark, when installed, claims the ``benchmark`` fixture of tests/test_evaluation.py
PYTEST_ARGS = ["-p", "no:cacheprovider", "-p", "no:benchmark", "-W", "ignore"]
# The contract tests run the CLI in a child process whose working folder is a scratch folder (tests/conftest.py's
# run_cli, with PYTHONPATH at the mutated tree), and mutmut reads its configuration from the working folder. This
# file, first on the child's path, loads it from the mutated tree before any mutated function runs. (The child's
# coverage is not recorded: a function reached only through a child process has "no tests" and is not scored as
# killed.)
CHILD_CONFIG = """import os

if os.environ.get("MUTANT_UNDER_TEST"):
    from mutmut.configuration import config

    _here = os.getcwd()
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    config()
    os.chdir(_here)
"""

# Mutants that cannot change behaviour, each with the reason read from its diff: ``function``, ``diff`` (as the
# report prints it) and ``why``. Keyed by the diff rather than mutmut's mutant number, which shifts whenever the
# function changes; an entry that no longer matches a live mutant is reported as ``stale_equivalents``.
EQUIVALENTS_FILE = ROOT / "eval" / "mutation_equivalents.yaml"
# in the scratch folder: every mutant's status before --rerun-survivors
PREVIOUS = "statuses_before_rerun.json"
# committed: every mutant's verdict and every function's hash, for a run that goes on on another machine
STATE_FILE = ROOT / "eval" / "reports" / "mutation_state.json"


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


def write_config(work: Path, modules: list[str], tests: list[str]) -> None:
    """mutmut's ``[mutmut]`` section, appended to the project's own ``setup.cfg`` (which the tests read)."""
    lines = ["[mutmut]", "source_paths = flowsep", "also_copy ="] + [f"    {path}" for path in ALSO_COPY]
    lines += ["only_mutate ="] + [f"    {module}" for module in modules]
    lines += ["pytest_add_cli_args_test_selection ="] + [f"    {test}" for test in tests]
    lines += ["pytest_add_cli_args ="] + [f"    {arg}" for arg in PYTEST_ARGS]
    lines += [
        "process_isolation = forkserver",
        "use_git_change_detection = false",
        "timeout_multiplier = 10.0",
    ]
    project = (work / "setup.cfg").read_text().split("[mutmut]")[0].rstrip()
    (work / "setup.cfg").write_text(project + "\n\n" + "\n".join(lines) + "\n")
    (work / "sitecustomize.py").write_text(CHILD_CONFIG)


def read_meta(path: Path) -> dict:
    """One of mutmut's ``mutants/**/*.py.meta`` files (retried once: a running mutmut may be rewriting it)."""
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        time.sleep(1.0)
        return json.loads(path.read_text())


def save_state(work: Path, tests: list[str], path: Path = STATE_FILE) -> None:
    """mutmut's verdicts in ``work`` as ``{"tests", "files": {source: {"module", "hashes", "exit_codes"}}}``, where
    ``exit_codes[function]`` lists the exit codes of mutants 1, 2, ... of that function (``None``: not run)."""
    files = {}
    for meta_path in sorted((work / "mutants").rglob("*.py.meta")):
        meta = read_meta(meta_path)
        module, codes = "", {}
        for key, code in meta["exit_code_by_key"].items():
            function, number = key.rsplit("__mutmut_", 1)
            module, _, function = function.rpartition(".")
            numbered = codes.setdefault(function, {})
            numbered[int(number)] = code
        exit_codes = {
            function: [numbered.get(i) for i in range(1, max(numbered) + 1)]
            for function, numbered in sorted(codes.items())
        }
        source = meta_path.relative_to(work / "mutants").as_posix().removesuffix(".meta")
        files[source] = {"module": module, "hashes": meta["hash_by_function_name"], "exit_codes": exit_codes}
    state = {"tests": tests, "files": files}
    path.write_text(json.dumps(state, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def seed_state(work: Path, tests: list[str], path: Path = STATE_FILE) -> list[str]:
    """mutmut's ``mutants/**/*.py.meta`` in ``work`` from :func:`save_state`'s file; only the killed verdicts when
    the state was measured with other tests. Returns the names of the mutants whose verdict was seeded."""
    from mutmut.stats import status_by_exit_code

    state = json.loads(path.read_text(encoding="utf-8"))
    keep_all = state["tests"] == tests
    seeded = []
    for source, entry in state["files"].items():
        exit_codes = {}
        for function, codes in entry["exit_codes"].items():
            for number, code in enumerate(codes, start=1):
                killed = code is not None and status_by_exit_code[code] in ("killed", "timeout")
                kept = code if keep_all or killed else None
                name = f"{entry['module']}.{function}__mutmut_{number}"
                exit_codes[name] = kept
                if kept is not None:
                    seeded.append(name)
        meta = {
            "exit_code_by_key": exit_codes,
            "hash_by_function_name": entry["hashes"],
            "type_check_error_by_key": {},
            "durations_by_key": {},
            "estimated_durations_by_key": {},
        }
        meta_path = work / "mutants" / f"{source}.meta"
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        meta_path.write_text(json.dumps(meta, ensure_ascii=False))
    return seeded


def run_unchecked(work: Path, max_children: int) -> None:
    """Run the mutants in scope that have no verdict (mutmut re-runs every mutant it is given by name)."""
    unchecked = [name for name, status in statuses(work).items() if status == "not checked"]
    if unchecked:
        mutmut(work, "run", "--max-children", str(max_children), *unchecked)


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


def function_of(name: str) -> str:
    """``flowsep.flow.x_sample_sigmas__mutmut_3`` -> ``flowsep.flow.sample_sigmas`` (methods: ``Class.method``)."""
    return re.sub(r"\.x[_ǁ]", ".", name.rsplit("__mutmut_", 1)[0], count=1).replace("ǁ", ".")


def load_equivalents() -> dict[tuple[str, str], str]:
    """``(function, diff) -> why`` from :data:`EQUIVALENTS_FILE`."""
    entries = yaml.safe_load(EQUIVALENTS_FILE.read_text(encoding="utf-8")) or []
    return {(entry["function"], entry["diff"]): entry["why"] for entry in entries}


def merged_statuses(work: Path) -> dict[str, str]:
    """:func:`statuses`, where mutmut did not run a mutant in the last rerun (a change of the test selection
    resets its results), the status from before the rerun (:data:`PREVIOUS`): added tests cannot revive a mutant."""
    now, before_file = statuses(work), work / PREVIOUS
    before = json.loads(before_file.read_text()) if before_file.exists() else {}
    return {
        name: before.get(name, status) if status == "not checked" else status for name, status in now.items()
    }


@functools.cache
def diff_of(work: Path, name: str) -> str:
    lines = mutmut(work, "show", name, check=False).splitlines()
    changed = [line for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    return " | ".join(line.strip() for line in changed)[:300]


def classify(work: Path, found: dict[str, str]):
    """``(killed, equivalent, survivors, stale)``: killed names (timeouts included); ``{name: (diff, why)}`` of
    live mutants that :data:`EQUIVALENTS_FILE` lists; ``{name: diff}`` of the other live ones; the listed
    entries that match no live mutant."""
    known = load_equivalents()
    killed = sorted(n for n, s in found.items() if s in ("killed", "timeout"))
    alive = {
        n: diff_of(work, n) for n, s in sorted(found.items()) if s not in ("killed", "timeout", "not checked")
    }
    equivalent, survivors = {}, {}
    for name, diff in alive.items():
        why = known.get((function_of(name), diff))
        if why:
            equivalent[name] = (diff, why)
        else:
            survivors[name] = diff
    matched = {(function_of(n), diff) for n, (diff, _) in equivalent.items()}
    stale = [f"{function}: {diff}" for function, diff in known if (function, diff) not in matched]
    return killed, equivalent, survivors, stale


def markdown_table(report: dict) -> str:
    """Killed / survived / equivalent per module, and the total, as a Markdown table."""
    lines = ["| module | killed | survived | equivalent |", "|---|---:|---:|---:|"]
    for module, counts in sorted(report["by_module"].items()):
        lines.append(f"| {module} | {counts['killed']} | {counts['survived']} | {counts['equivalent']} |")
    total = f"**{report['killed']}** | **{report['survived']}** | **{report['equivalent']}**"
    lines.append(f"| **total** ({report['score']:.1%} of non-equivalent mutants killed) | {total} |")
    if report["not_checked"]:
        lines.append(f"\nPartial run: {report['not_checked']} mutants in scope were not run.")
    return "\n".join(lines) + "\n"


def selection(only: list[str] | None, tests: list[str] | None) -> tuple[list[str], list[str], list[str]]:
    """``(modules, scope, tests)``: :data:`MODULES`, :data:`SCOPE` and :data:`TESTS`, or the ``only`` modules
    (entries of MODULES) with the scope patterns inside them, and ``tests`` when given."""
    if not only:
        return MODULES, SCOPE, tests or TESTS
    unknown = sorted(set(only) - set(MODULES))
    if unknown:
        raise SystemExit(f"--only: not in MODULES: {', '.join(unknown)}")
    prefixes = [module.removesuffix(".py").removesuffix("/*").replace("/", ".") + "." for module in only]
    scope = [pattern for pattern in SCOPE if pattern.startswith(tuple(prefixes))]
    return list(only), scope, tests or TESTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "flowsep-mutation"))
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the scratch folder and mutmut's results; alone: run the mutants not run yet (after an interruption)",
    )
    parser.add_argument(
        "--rerun-survivors", action="store_true",
        help="with --resume: bring in HEAD's tests and run only the mutants that survived the last run",
    )  # fmt: skip
    parser.add_argument("--report-only", action="store_true", help="with --resume: only write the report")
    parser.add_argument(
        "--fresh", action="store_true", help=f"a new run that ignores {STATE_FILE.relative_to(ROOT)}"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="MODULE", help="mutate only these entries of MODULES (a smoke run)"
    )
    parser.add_argument("--tests", nargs="+", metavar="TEST", help="run these tests instead of TESTS")
    parser.add_argument("-o", "--output", default=str(ROOT / "eval" / "reports" / "mutation.json"))
    args = parser.parse_args(argv)
    modules, scope, tests = selection(args.only, args.tests)
    work = Path(args.work)
    start = time.time()
    resuming = args.resume and not (args.rerun_survivors or args.report_only)
    full = not (args.only or args.tests)  # only a run of the whole selection reads and writes the state
    seeded = []
    if not args.resume:
        export_tree(work)
        if full and not args.fresh and STATE_FILE.exists():
            seeded = seed_state(work, tests)
            print(f"{len(seeded)} verdicts from {STATE_FILE.relative_to(ROOT)}")
    if not resuming:  # a resumed run keeps its selection: a new one would reset mutmut's results
        write_config(work, modules, tests)
    if args.report_only:
        pass
    elif resuming:
        run_unchecked(work, args.max_children)
    elif args.rerun_survivors:
        before = statuses(work)
        (work / PREVIOUS).write_text(json.dumps(before, indent=1, ensure_ascii=False))
        survivors = list(classify(work, before)[2])
        fresh = work.with_name(work.name + "-head")
        export_tree(fresh)
        shutil.rmtree(work / "tests")
        shutil.copytree(fresh / "tests", work / "tests")
        shutil.rmtree(fresh)
        if survivors:
            # mutmut exits non-zero only when it could not run the tests (collection, stats, clean run): the
            # statuses would be stale. HEAD's tests may need library code newer than the scratch copy's.
            mutmut(work, "run", "--max-children", str(args.max_children), *survivors)
    elif seeded:
        # one seeded mutant makes mutmut mutate the tree (resetting changed functions) and collect the stats
        mutmut(work, "run", "--max-children", "1", seeded[0])
        run_unchecked(work, args.max_children)
    else:
        mutmut(work, "run", "--max-children", str(args.max_children), *scope)
    if full:
        save_state(work, tests)
    found = merged_statuses(work)
    killed, equivalent, survivors, stale = classify(work, found)
    unchecked = sorted(n for n, s in found.items() if s == "not checked")
    report = {
        "tool": f"mutmut {mutmut(work, '--version').split()[-1]}",
        "command": " ".join(["python eval/mutation.py", *(sys.argv[1:] if argv is None else argv)]),
        "commit": subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
        "modules": modules,
        "scope": scope,
        "tests": tests,
        "killed": len(killed),
        "survived": len(survivors),
        "equivalent": len(equivalent),
        "timeout": sum(found[n] == "timeout" for n in killed),
        "not_checked": len(unchecked),
        "score": round(len(killed) / max(1, len(killed) + len(survivors)), 4),
        "by_module": {},
        "survivors": [{"mutant": n, "status": found[n], "diff": diff} for n, diff in survivors.items()],
        "equivalents": [{"mutant": n, "diff": diff, "why": why} for n, (diff, why) in equivalent.items()],
        "stale_equivalents": stale,
        "seconds": round(time.time() - start),
    }
    for name in found:
        module = name.split(".x")[0] if ".x" in name else name.rsplit(".", 1)[0]
        counts = report["by_module"].setdefault(module, {"killed": 0, "survived": 0, "equivalent": 0})
        if name in unchecked:
            continue
        key = "equivalent" if name in equivalent else ("survived" if name in survivors else "killed")
        counts[key] += 1
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    table = markdown_table(report)
    Path(args.output).with_suffix(".md").write_text(table)
    print(table)
    print(f"killed {len(killed)}, survived {len(survivors)}, equivalent {len(equivalent)}: "
          f"score {report['score']:.1%} in {report['seconds']} s -> {args.output}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
