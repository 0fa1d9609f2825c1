"""Flow-stage training throughput and peak memory, at the tiny and at the paper's size.

One optimisation step of the flow stage is timed as the stage runs it: level the mixtures, encode mixtures
and targets with the (frozen) VAE, encode the captions with the (frozen) text encoder, then the
flow-matching loss, backward and AdamW step of the transformer. ``--mode cached`` times the step with
pre-computed latents and text states (``flow.cache_dir``): the transformer alone. Model sizes come from the
recipes' ``model:`` sections (recipes/tiny, recipes/paper). The paper's text encoder (Flan-T5-large) cannot
be downloaded here, so a randomly initialised T5 encoder with its configuration stands in (same cost).

Each case runs in its own process so that the peak memory is its own: peak RSS on CPU
(``ru_maxrss``, including ~0.5 GB of imported libraries, reported separately), and
``torch.cuda.max_memory_allocated`` on a GPU.

    python eval/bench_train.py                       # all cases, table + eval/reports/bench_train.json
    python eval/bench_train.py --cases paper --steps 3 --batch-size 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
FLAN_T5_LARGE = {
    "vocab_size": 32128, "d_model": 1024, "d_kv": 64, "d_ff": 2816, "num_layers": 24, "num_heads": 16,
    "feed_forward_proj": "gated-gelu",
}  # fmt: skip
CASES = {  # name: (recipe folder, text encoder, default batch size on CPU)
    "tiny": ("tiny", "minilm", 8),
    "paper": ("paper", "flan-t5-large-random", 2),
}
CAPTIONS = ["a dog barking", "a man speaking", "rain falling on a roof", "a car engine running"]


def _model_dict(folder: str, stage: str) -> dict:
    return yaml.safe_load((ROOT / "recipes" / folder / f"{stage}.yaml").read_text())


def _text_encoder(name: str):
    from transformers import T5Config, T5EncoderModel

    from flowsep.models import load_text_encoder
    from flowsep.testing import tiny_tokenizer

    if name == "flan-t5-large-random":
        return T5EncoderModel(T5Config(**FLAN_T5_LARGE)).eval().requires_grad_(False), tiny_tokenizer()
    return load_text_encoder(name)


def worker(case: str, mode: str, batch_size: int, steps: int, device: str) -> dict:
    """Time ``steps`` flow-stage steps (after one warm-up step) in this process."""
    import torch
    from diffusers import AutoencoderKL

    from flowsep.codec import AudioCodec
    from flowsep.models import FlowSepTransformer, encode_text
    from flowsep.training import FlowMatchingObjective

    torch.manual_seed(0)
    rss_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    folder, text_name, _ = CASES[case]
    flow_recipe, vae_recipe = _model_dict(folder, "flow"), _model_dict(folder, "vae")
    vae = AutoencoderKL(**vae_recipe["model"]).to(device).eval().requires_grad_(False)
    codec = AudioCodec(vae)
    transformer = FlowSepTransformer(**flow_recipe["model"]).to(device).train()
    text_encoder, tokenizer = _text_encoder(text_name)
    text_encoder.to(device)
    segment = round(flow_recipe["data"]["segment_seconds"] * 16000)
    objective = FlowMatchingObjective(text_dropout=0.1)
    optimizer = torch.optim.AdamW(transformer.parameters(), lr=1e-5)
    mixture, target = torch.randn(batch_size, segment) * 0.1, torch.randn(batch_size, segment) * 0.05
    captions = [CAPTIONS[i % len(CAPTIONS)] for i in range(batch_size)]

    def inputs():
        mix, tgt = codec.level_pair(mixture, target)
        latents = codec.encode(torch.cat([mix, tgt]))[0].float()
        states, mask = encode_text(text_encoder, tokenizer, captions, device)
        return (*latents.chunk(2), states.float(), mask)

    cached = inputs()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for step in range(steps + 1):
        start = time.perf_counter()
        mixture_latents, target_latents, states, mask = inputs() if mode == "online" else cached
        generator = torch.Generator().manual_seed(step)
        loss = objective(transformer, target_latents, mixture_latents, states, mask, generator=generator).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    step_seconds = sum(times[1:]) / steps
    result = {
        "case": case, "mode": mode, "device": device, "batch_size": batch_size, "steps": steps,
        "segment_seconds": segment / 16000, "step_seconds": step_seconds, "samples_per_second": batch_size / step_seconds,
        "transformer_parameters_M": sum(p.numel() for p in transformer.parameters()) / 1e6,
        "vae_parameters_M": sum(p.numel() for p in vae.parameters()) / 1e6,
        "text_encoder_parameters_M": sum(p.numel() for p in text_encoder.parameters()) / 1e6,
        "peak_rss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rss_after_imports_MiB": rss_imports,
        "threads": torch.get_num_threads(),
    }  # fmt: skip
    if device == "cuda":
        result["cuda_max_allocated_MiB"] = torch.cuda.max_memory_allocated() / 2**20
        result["gpu"] = torch.cuda.get_device_name()
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--modes", nargs="+", default=["online", "cached"], choices=["online", "cached"])
    parser.add_argument("--batch-size", type=int, help="default: 8 (tiny) / 2 (paper) on CPU, x4 on a GPU")
    parser.add_argument("--steps", type=int, default=3, help="timed steps after one warm-up step")
    parser.add_argument("--device", default=None, help="cuda when available, else cpu")
    parser.add_argument("--out", default=str(ROOT / "eval" / "reports" / "bench_train.json"))
    parser.add_argument("--worker", nargs=2, metavar=("CASE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.device is None:
        import torch

        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.worker:
        print(json.dumps(worker(*args.worker, args.batch_size, args.steps, args.device)))
        return
    results = []
    for case in args.cases:
        batch = args.batch_size or CASES[case][2] * (4 if args.device == "cuda" else 1)
        for mode in args.modes:
            command = [sys.executable, __file__, "--worker", case, mode, "--batch-size", str(batch),
                       "--steps", str(args.steps), "--device", args.device]  # fmt: skip
            environment = {**os.environ, "HF_HUB_OFFLINE": "1"}
            done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
            if done.returncode:
                sys.exit(f"{case}/{mode} failed:\n{done.stderr[-3000:]}")
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    memory = "cuda_max_allocated_MiB" if args.device == "cuda" else "peak_rss_MiB"
    print(
        f"{'case':<7}{'mode':<8}{'batch':>6}{'s/step':>9}{'samples/s':>11}{'transformer M':>15}{memory:>24}"
    )
    for r in results:
        print(f"{r['case']:<7}{r['mode']:<8}{r['batch_size']:>6}{r['step_seconds']:>9.3f}{r['samples_per_second']:>11.2f}"
              f"{r['transformer_parameters_M']:>15.1f}{r[memory]:>24.0f}")  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
