"""eval/mutation.py's state file, which lets a mutation run of several hours go on in a fresh checkout: every
verdict comes back as mutmut wrote it, and verdicts measured with other tests come back only where killed."""

import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("mutmut")

SCRIPT = Path(__file__).resolve().parents[1] / "eval" / "mutation.py"
spec = importlib.util.spec_from_file_location("mutation_script", SCRIPT)
mutation = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutation)

TESTS = ["tests/test_a.py", "tests/test_b.py"]
EXIT_CODES = {
    "flowsep.flow.x_sample_sigmas__mutmut_1": 1,  # killed
    "flowsep.flow.x_sample_sigmas__mutmut_2": 0,  # survived
    "flowsep.flow.x_sample_sigmas__mutmut_3": None,  # not run yet
    "flowsep.flow.xǁFlowǁstep__mutmut_1": 152,  # timeout
    "flowsep.flow.xǁFlowǁstep__mutmut_2": 33,  # no tests
}
HASHES = {"x_sample_sigmas": "abc", "xǁFlowǁstep": "def"}


def write_meta(work: Path, source: str, exit_codes: dict) -> None:
    meta = {
        "exit_code_by_key": exit_codes,
        "hash_by_function_name": HASHES,
        "type_check_error_by_key": {},
        "durations_by_key": {"flowsep.flow.x_sample_sigmas__mutmut_1": 0.5},
        "estimated_durations_by_key": {},
    }
    path = work / "mutants" / f"{source}.meta"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(meta))


def test_state_round_trip_gives_back_every_verdict_and_hash(tmp_path):
    """Guards against a state that loses verdicts, renumbers mutants or drops the hashes mutmut compares."""
    write_meta(tmp_path / "before", "flowsep/flow.py", EXIT_CODES)
    state_file = tmp_path / "state.json"
    mutation.save_state(tmp_path / "before", TESTS, state_file)
    seeded = mutation.seed_state(tmp_path / "after", TESTS, state_file)
    meta = json.loads((tmp_path / "after" / "mutants" / "flowsep" / "flow.py.meta").read_text())
    assert meta["exit_code_by_key"] == EXIT_CODES
    assert meta["hash_by_function_name"] == HASHES
    assert sorted(seeded) == sorted(key for key, code in EXIT_CODES.items() if code is not None)


def test_state_from_other_tests_keeps_only_the_killed(tmp_path):
    """Guards against survivors of an older test selection being reported as survivors without a rerun."""
    write_meta(tmp_path / "before", "flowsep/flow.py", EXIT_CODES)
    state_file = tmp_path / "state.json"
    mutation.save_state(tmp_path / "before", TESTS[:1], state_file)
    assert len(mutation.seed_state(tmp_path / "after", TESTS, state_file)) == 2
    meta = json.loads((tmp_path / "after" / "mutants" / "flowsep" / "flow.py.meta").read_text())
    kept = {key: code for key, code in meta["exit_code_by_key"].items() if code is not None}
    assert kept == {"flowsep.flow.x_sample_sigmas__mutmut_1": 1, "flowsep.flow.xǁFlowǁstep__mutmut_1": 152}
    assert set(meta["exit_code_by_key"]) == set(EXIT_CODES)
