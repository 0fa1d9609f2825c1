"""Known answer through ``flowsep evaluate``: an oracle separator that keeps a tenth of the interference scores
the SI-SDRi and SDRi an independent computation gives (about +20 dB), and the CSV holds those numbers."""

import csv
import json

import numpy as np
import pytest
import soundfile as sf
import torch

from flowsep.audio import load_audio
from flowsep.cli import main
from flowsep.data import ClipRecord, write_manifest
from flowsep.evaluation import BuildSpec, build_benchmark, read_benchmark
from flowsep.pipelines import FlowSepPipeline
from flowsep.pipelines.pipeline_output import FlowSepPipelineOutput

SR = 16000


def si_sdr_db(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Le Roux et al.'s SI-SDR, in float64 numpy: the projection of the estimate on the reference over the rest."""
    estimate, reference = estimate.astype(np.float64), reference.astype(np.float64)
    scale = estimate @ reference / (reference @ reference)
    target = scale * reference
    return float(10 * np.log10((target @ target) / ((estimate - target) @ (estimate - target))))


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    rng, records = np.random.default_rng(0), []
    for label, frequency in [("tone", 440.0), ("hum", 150.0), ("hiss", 0.0)]:
        t = np.arange(int(1.5 * SR)) / SR
        wave = 0.3 * np.sin(2 * np.pi * frequency * t) if frequency else 0.1 * rng.standard_normal(t.size)
        sf.write(folder / f"{label}.wav", wave.astype(np.float32), SR)
        records.append(ClipRecord(f"clip-{label}", str(folder / f"{label}.wav"), [f"a {label}"], [label]))
    manifest = write_manifest(records, folder / "clips.jsonl")
    out = tmp_path_factory.mktemp("bench") / "oracle"
    spec = BuildSpec("manifest", str(manifest), str(out), segment_seconds=0.32, count=3, snr=(-5.0, 5.0))
    return build_benchmark(spec)


def test_evaluate_scores_an_oracle_at_its_known_improvement(saved_tiny_pipe, bench, tmp_path, monkeypatch):
    items = read_benchmark(bench).items
    pairs = [(load_audio(item.mixture, target_sample_rate=SR), load_audio(item.reference, target_sample_rate=SR))
             for item in items]  # fmt: skip

    def oracle(self, prompt, mixture, sample_rate=None, num_inference_steps=1, **kwargs):
        """The reference plus a tenth of the interference ``mixture - reference``."""
        estimates = []
        for wave in mixture:
            reference = next(ref for mix, ref in pairs if mix.shape == wave.shape and torch.equal(mix, wave))
            estimates.append(reference + 0.1 * (wave - reference))
        return FlowSepPipelineOutput(estimates, None, SR, num_inference_steps)

    monkeypatch.setattr(FlowSepPipeline, "__call__", oracle)
    out = tmp_path / "run"
    args = [
        "evaluate",
        "--model",
        str(saved_tiny_pipe),
        "-b",
        str(bench.parent),
        "-o",
        str(out),
        "--steps",
        "2",
    ]
    assert main([*args, "--figures", "0"]) == 0
    with open(out / "items.csv") as handle:
        rows = {(row["system"], row["id"]): row for row in csv.DictReader(handle)}
    for item, (mixture, reference) in zip(items, pairs):
        estimate = (reference + 0.1 * (mixture - reference)).numpy()
        expected = si_sdr_db(estimate, reference.numpy()) - si_sdr_db(mixture.numpy(), reference.numpy())
        row, plain = rows[("steps-2", item.id)], rows[("mixture", item.id)]
        assert float(row["si_sdri"]) == pytest.approx(expected, abs=0.01)
        assert float(row["si_sdri"]) > 15.0  # about +20 dB, whatever the mixture's SNR
        assert float(row["si_sdr"]) == pytest.approx(si_sdr_db(estimate, reference.numpy()), abs=0.01)
        assert float(row["sdri"]) > 15.0
        assert float(plain["si_sdri"]) == 0.0
    summary = json.loads((out / "summary.json").read_text())
    mean = np.mean([float(rows[("steps-2", item.id)]["si_sdri"]) for item in items])
    result = summary["results"][read_benchmark(bench).name]["steps-2"]
    assert result["metrics"]["si_sdri"]["mean"] == pytest.approx(mean, abs=1e-6)
    assert result["metrics"]["si_sdri"]["n"] == len(items)
