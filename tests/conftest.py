"""Shared fixtures. Nothing is downloaded: the hub is offline and components are tiny and random."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import hashlib  # noqa: E402
import math  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402

from flowsep.testing import make_tiny_pipeline  # noqa: E402

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))  # 1 beside a training run

HEAVY = ("torch", "diffusers", "transformers", "accelerate", "gradio")
# flowsep.cli.main, as `python -m flowsep.cli` runs it, then a line naming the heavy libraries the run imported
LIGHT_ENTRY = (
    "import sys\nfrom flowsep.cli import main\ncode = main(sys.argv[1:])\n"
    f"print('heavy:', sorted(m for m in {HEAVY!r} if m in sys.modules))\nsys.exit(code)\n"
)


def run_cli(args: list[str], cwd: Path, light: bool = False) -> subprocess.CompletedProcess:
    """``python -m flowsep.cli ARGS`` in ``cwd``, offline; with ``light``, its stdout ends with ``heavy: [...]``,
    the heavy libraries the run imported."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    entry = ["-c", LIGHT_ENTRY] if light else ["-m", "flowsep.cli"]
    return subprocess.run(
        [sys.executable, *entry, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300
    )


def snapshot(folder: Path) -> dict:
    """Every path under ``folder`` with its kind, size and content hash (fifos and links by kind only)."""
    state = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            state[str(path)] = ("link", os.readlink(path))
        elif path.is_file():
            state[str(path)] = ("file", hashlib.sha1(path.read_bytes()).hexdigest())
        else:
            state[str(path)] = ("dir" if path.is_dir() else "other",)
    return state


def outside(state: dict, *named: Path) -> dict:
    """The entries of a :func:`snapshot` that lie outside the ``named`` outputs."""
    return {key: value for key, value in state.items() if not any(Path(key).is_relative_to(p) for p in named)}


@pytest.fixture
def tiny_pipe():
    return make_tiny_pipeline(seed=0)


@pytest.fixture(scope="session")
def saved_tiny_pipe(tmp_path_factory):
    """A tiny pipeline saved once per session; returns its folder."""
    folder = tmp_path_factory.mktemp("tiny-model")
    make_tiny_pipeline(seed=0).save_pretrained(folder)
    return folder


def tone(
    frequency: float, amplitude: float, seconds: float = 1.0, phase: float = 0.0, rate: int = 16000
) -> torch.Tensor:
    """A sine ``(samples,)`` in float32, computed in float64."""
    t = torch.arange(int(seconds * rate), dtype=torch.float64) / rate
    return (amplitude * torch.sin(2 * math.pi * frequency * t + phase)).float()


def noise_mixture(seconds: float = 1.5, sample_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """A reproducible tone-plus-noise mixture, float32 ``(samples,)``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture
def mixture_wav(tmp_path):
    path = tmp_path / "mix.wav"
    sf.write(path, noise_mixture(), 16000)
    return path
