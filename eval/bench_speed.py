"""Speed and memory of separation: FlowSep transformer (mini and paper size) vs the official FlowSep UNet.

For every architecture, at its own window (the paper's latent: one 10.24 s window = 8 x 256 x 16; flowsep-mini:
one 2.56 s window of the log-mel, 1 x 256 x 64):
* time per ODE step (one network evaluation, batch 1), parameters;
* time per window of the codec (VAE encode + decode, mask decoder or BigVGAN);
* whole-separation time and real-time factor for each input length and step count. For the mini model these
  are measured end to end with ``FlowSepPipeline``; for the paper-size transformer and the UNet they are
  composed from the measured parts (windows x steps x step time + windows x codec time), marked ``estimated``;
  the mini rows show how close such a composition is to the measured run.
* for the official UNet (``FlowSepUNet``, as converted from the authors' checkpoint), also the official BigVGAN
  per window and the whole separation with ``--decoder vocoder`` (``estimated_vocoder_s``);
* peak resident memory of the process running each case (each case runs in a fresh subprocess).

    python eval/bench_speed.py                    # CPU, all architectures, 10 s and 60 s, 1/5/10/25 steps
    python eval/bench_speed.py --long 300         # adds the 5-minute input (mini model, 10 steps)
    python eval/bench_speed.py --model checkpoints/flowsep-mini   # the shipped model as "mini"

Prints a table and writes JSON (default ``eval/reports/bench_speed.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

ARCHS = {
    "mini": dict(num_layers=6, num_attention_heads=4, attention_head_dim=64, text_embed_dim=384),
    "paper": dict(num_layers=12, num_attention_heads=12, attention_head_dim=64, text_embed_dim=1024),
}
VAES = {
    "mini": dict(
        block_out_channels=(16, 32, 64), layers_per_block=1, norm_num_groups=8, mid_block_add_attention=False
    ),
    "paper": dict(block_out_channels=(128, 256, 512), layers_per_block=2, norm_num_groups=32),
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, repeats: int, device) -> float:
    """Median seconds of ``fn`` after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def build_vae(size: str):
    from diffusers import AutoencoderKL

    blocks = VAES[size]
    return AutoencoderKL(
        in_channels=1, out_channels=1, latent_channels=8, down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3, **blocks,
    )  # fmt: skip


def build_pipeline(arch: str, model: str | None, device):
    """A random pipeline of the given size (or the named model folder)."""
    from diffusers import FlowMatchEulerDiscreteScheduler
    from transformers import T5Config, T5EncoderModel

    from flowsep import FlowSepPipeline, FlowSepTransformer
    from flowsep.loading import load_pipeline
    from flowsep.testing import tiny_tokenizer

    if model:
        pipe = load_pipeline(model, str(device))
    else:
        config = ARCHS[arch]
        tokenizer = tiny_tokenizer()
        encoder = T5EncoderModel(
            T5Config(vocab_size=len(tokenizer), d_model=config["text_embed_dim"], num_layers=1)
        )
        pipe = FlowSepPipeline(
            vae=build_vae(arch), transformer=FlowSepTransformer(sample_size=256, **config),
            scheduler=FlowMatchEulerDiscreteScheduler(), text_encoder=encoder, tokenizer=tokenizer,
        ).to(device)  # fmt: skip
    pipe.set_progress_bar_config(disable=True)
    return pipe


def network_step(arch: str, pipe, device, repeats: int) -> tuple[float, int]:
    """(seconds per evaluation at batch 1, parameters) of the transformer or the UNet."""
    if arch == "unet":
        latents = torch.randn(1, 8, 256, 16, device=device)
    else:  # one window of the model's own latent (a VAE's, or the log-mel's)
        config = pipe.transformer.config
        shape = (1, config.latent_channels, config.sample_size, config.latent_frequency_bins)
        latents = torch.randn(shape, device=device)
    text = torch.randn(
        1, 16, 1024 if arch == "unet" else pipe.transformer.config.text_embed_dim, device=device
    )
    t = torch.tensor([500.0], device=device)
    if arch == "unet":  # the official FlowSep UNet as `flowsep convert official-flowsep` loads it
        from flowsep.models import FlowSepUNet

        net = FlowSepUNet().to(device).eval()
        fn = lambda: net(latents, latents, t, text)  # noqa: E731
    else:
        net = pipe.transformer.eval()
        fn = lambda: net(latents, latents, t, text)  # noqa: E731
    with torch.no_grad():
        return timed(fn, repeats, device), sum(p.numel() for p in net.parameters())


def codec_seconds(pipe, device, repeats: int) -> float:
    """Seconds per window for VAE encode + decode + the mask decoder."""
    from flowsep.decoding import mask_decode

    wave, codec = 0.1 * torch.randn(1, pipe.segment_samples, device=device), pipe.codec

    def run():
        latents, _ = codec.encode(wave, device)
        mask_decode(codec.decode(latents), wave, codec.mel)

    with torch.no_grad():
        return timed(run, repeats, device)


def official_vocoder_seconds(device, repeats: int) -> float:
    """Seconds per window of the official BigVGAN (512 initial channels, kernels 16, 16, 8, 4, 4)."""
    from flowsep.models import BigVGANVocoder

    vocoder = (
        BigVGANVocoder(upsample_initial_channel=512, upsample_kernel_sizes=(16, 16, 8, 4, 4))
        .to(device)
        .eval()
    )
    mel = torch.randn(1, 64, 1024, device=device)
    with torch.no_grad():
        return timed(lambda: vocoder(mel), repeats, device)


def separation_seconds(pipe, seconds: float, steps: int, device) -> float:
    """Wall time of one end-to-end separation of a random ``seconds``-long mixture."""
    mixture = 0.1 * torch.randn(int(seconds * 16000))
    start = time.perf_counter()
    pipe(
        "a dog barking", mixture, sample_rate=16000, num_inference_steps=steps, generator=torch.manual_seed(0)
    )
    return time.perf_counter() - start


def windows_for(pipe, seconds: float, overlap: float = 1.0) -> int:
    return len(pipe.codec.window_plan(int(seconds * 16000), pipe.transformer.config.sample_size, overlap))


def worker(case: dict) -> dict:
    """Run one case in this process and return its measurements."""
    torch.manual_seed(0)
    device = torch.device(case["device"])
    if case["kind"] == "long":
        pipe = build_pipeline("mini", case.get("model"), device)
        wall = separation_seconds(pipe, case["seconds"], case["steps"], device)
        return {**case, "seconds_wall": wall, "rtf": wall / case["seconds"], "peak_rss_mb": peak_rss_mb()}
    arch = case["arch"]
    pipe = build_pipeline(
        "paper" if arch == "unet" else arch, case.get("model") if arch == "mini" else None, device
    )
    step, params = network_step(arch, pipe, device, case["repeats"])
    codec = codec_seconds(pipe, device, case["repeats"])
    vocoder = official_vocoder_seconds(device, case["repeats"]) if arch == "unet" else None
    rows = []
    for seconds in case["durations"]:
        for steps in case["steps"]:
            windows = windows_for(pipe, seconds)
            estimate = windows * (steps * step + codec)
            row = {"input_s": seconds, "steps": steps, "estimated_s": estimate}
            if vocoder is not None:  # the official decoder path: VAE decode -> mel -> BigVGAN
                row["estimated_vocoder_s"] = estimate + windows * vocoder
            if arch == "mini":
                row["measured_s"] = separation_seconds(pipe, seconds, steps, device)
            row["rtf"] = row.get("measured_s", estimate) / seconds
            rows.append(row)
    return {
        **case,
        "params_m": params / 1e6,
        "step_s": step,
        "codec_s": codec,
        "vocoder_s": vocoder,
        "rows": rows,
        "peak_rss_mb": peak_rss_mb(),
    }


def run_case(case: dict) -> dict:
    """Run a case in a fresh subprocess so that its peak memory is its own."""
    result = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(case)], capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise RuntimeError(f"case {case} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def print_table(results: list[dict]):
    print(
        f"\n{'arch':6} {'params':>8} {'step s':>8} {'codec s':>8} {'input':>6} {'steps':>5} {'total s':>9} {'RTF':>7}  how"
    )
    for result in results:
        for row in result.get("rows", []):
            total = row.get("measured_s", row["estimated_s"])
            how = "measured" if "measured_s" in row else "estimated"
            print(
                f"{result['arch']:6} {result['params_m']:7.1f}M {result['step_s']:8.3f} {result['codec_s']:8.3f} "
                f"{row['input_s']:5.0f}s {row['steps']:5d} {total:9.2f} {row['rtf']:7.3f}  {how}"
            )
    steps = {r["arch"]: r["step_s"] for r in results if "step_s" in r}
    if "unet" in steps:
        for arch in ("mini", "paper"):
            if arch in steps:
                print(f"time per step, {arch} / UNet: {steps[arch] / steps['unet']:.2f}")
    for result in results:
        if result["kind"] == "long":
            print(f"mini, {result['seconds']:.0f} s input, {result['steps']} steps: {result['seconds_wall']:.1f} s "
                  f"(RTF {result['rtf']:.3f}), peak RSS {result['peak_rss_mb']:.0f} MB")  # fmt: skip


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--archs", nargs="+", default=["mini", "paper", "unet"], choices=["mini", "paper", "unet"]
    )
    parser.add_argument("--durations", nargs="+", type=float, default=[10, 60])
    parser.add_argument("--steps", nargs="+", type=int, default=[1, 5, 10, 25])
    parser.add_argument(
        "--long", nargs="*", type=float, default=[], help="also 10 s vs these lengths (memory)"
    )
    parser.add_argument("--model", help="model folder to benchmark as 'mini'")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="eval/reports/bench_speed.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        torch.set_num_threads(os.cpu_count() or 1)
        print(json.dumps(worker(json.loads(args.worker))))
        return
    common = {"device": args.device, "repeats": args.repeats, "model": args.model}
    cases = [
        {**common, "kind": "arch", "arch": a, "durations": args.durations, "steps": args.steps}
        for a in args.archs
    ]
    if args.long:
        cases += [{**common, "kind": "long", "seconds": s, "steps": 10} for s in [10.0, *args.long]]
    results = []
    for case in cases:
        print(
            f"running {case.get('arch', case['kind'])} {case.get('seconds', '')}", file=sys.stderr, flush=True
        )
        results.append(run_case(case))
    print_table(results)
    meta = {"device": args.device, "threads": torch.get_num_threads(), "load_average": os.getloadavg(),
            "torch": torch.__version__, "cpu_count": os.cpu_count()}  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
