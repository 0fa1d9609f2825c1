"""Shared fixtures. Nothing is downloaded: the hub is offline and components are tiny and random."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import math  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402

from flowsep.testing import make_tiny_pipeline  # noqa: E402

torch.set_num_threads(2)


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
