"""End-to-end parity of a converted official FlowSep checkpoint with the authors' own inference code.

    python eval/official_parity.py --authors-src ../FlowSep CKPT [--model CONVERTED] [--text-encoder DIR]

``--authors-src`` is a checkout of the authors' repository (nothing of it is copied into flowsep): their code runs
in a child process (``eval/authors_reference.py``, which also lists what it needs on a CPU: ``pip install
pytorch-lightning``, with ``--authors-python`` naming an interpreter that has it). CKPT is a checkpoint in the
official layout: ``v2_100k.ckpt``, or the full-size random one of ``eval/official_conversion.py --keep``
(``v2_synthetic.ckpt``, its Flan-T5 folder ``flan-t5`` beside it). Without ``--model`` it is converted first.

Both sides get the same 10.24 s waveform, query and seed; flowsep runs as ``flowsep separate --model CONVERTED
--steps 10`` does (the folder's settings, ``torch.Generator().manual_seed(seed)``), through the public API:
the pipeline with a step callback (mixture latent, sample), ``encode_prompt``, the transformer (velocity at three
times on the start noise) and the codec (decoded mel). Each side chains its own results, so a stage's difference
includes those before it; the vocoder rows feed both vocoders the authors' decoded mel. Writes a Markdown table
(max abs, relative L2 = ``|ours - theirs| / |theirs|``) and JSON (default ``eval/reports/official_parity.*``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

HERE = Path(__file__).resolve().parent
CLIP_SECONDS = 10.24
FLOAT32_BOUND, FLOAT64_BOUND = 1e-4, 1e-6


def write_mixture(path: Path, seed: int = 0, rate: int = 16000):
    """10.24 s: a 440 Hz tone, a rising chirp, noise and a small offset (which the authors' level removes)."""
    t = np.arange(int(CLIP_SECONDS * rate)) / rate
    rng = np.random.default_rng(seed)
    wave = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * (200 + 150 * t) * t)
    sf.write(
        path, (wave + 0.05 * rng.standard_normal(t.size) + 0.01).astype(np.float32), rate, subtype="FLOAT"
    )


def compare(ours: torch.Tensor, theirs: torch.Tensor, bound: float) -> dict:
    """Max abs difference and relative L2 of two tensors of one shape (compared in float64)."""
    ours, theirs = ours.detach().double().cpu(), theirs.detach().double().cpu()
    if ours.shape != theirs.shape:
        raise SystemExit(f"shapes differ: ours {tuple(ours.shape)}, theirs {tuple(theirs.shape)}")
    relative = float((ours - theirs).norm() / theirs.norm().clamp(min=1e-30))
    return {"shape": list(ours.shape), "max_abs": float((ours - theirs).abs().max()), "relative_l2": relative,
            "bound": bound, "within": relative <= bound}  # fmt: skip


def run_authors(args, wave: Path, out: Path):
    command = [
        args.authors_python, str(HERE / "authors_reference.py"), "--authors-src", args.authors_src,
        "--checkpoint", args.checkpoint, "--text-encoder", args.text_encoder, "--wave", str(wave),
        "--query", args.query, "--seed", str(args.seed), "--steps", str(args.steps), "--out", str(out),
        "--times", *map(str, args.times),
    ]  # fmt: skip
    subprocess.run(command, check=True, env=os.environ | {"PYTHONWARNINGS": "ignore"})
    return torch.load(out, weights_only=False)


@torch.no_grad()
def run_flowsep(args, wave_file: Path) -> dict:
    """flowsep's stages: the CLI's defaults for the folder, through the public API."""
    from flowsep import FlowSepPipeline
    from flowsep.audio import read_audio

    pipe = FlowSepPipeline.from_pretrained(args.model).to("cpu")
    pipe.set_progress_bar_config(disable=True)
    wave, rate = read_audio(str(wave_file))  # (1, S)
    codec, wave = pipe.codec, torch.from_numpy(wave[0])
    levelled, gain = codec.level(wave)
    stages = {"levelled": levelled, "log_mel": codec.log_mel(levelled[None])[0].T}
    states, mask = pipe.encode_prompt(args.query, "cpu")
    stages["text_states"], stages["text_mask"] = states, mask
    captured = {"timesteps": []}

    def capture(pipe, step, timestep, tensors):
        captured.setdefault("mixture_latents", tensors["mixture_latents"])
        captured["sample"] = tensors["latents"]
        captured["timesteps"].append(float(timestep))
        return tensors

    out = pipe(
        args.query, wave.numpy(), sample_rate=rate, num_inference_steps=args.steps,
        generator=torch.Generator().manual_seed(args.seed), output_type="pt", callback_on_step_end=capture,
        callback_on_step_end_tensor_inputs=["latents", "mixture_latents"],
    )  # fmt: skip
    noise = pipe.prepare_latents(1, torch.float32, "cpu", torch.Generator().manual_seed(args.seed))
    stages |= {
        "start_noise": noise,
        "mixture_latents": captured["mixture_latents"],
        "sample": captured["sample"],
    }
    for t in args.times:
        v = pipe.transformer(
            noise, captured["mixture_latents"], torch.tensor([(1.0 - t) * 1000.0]), states, mask
        ).sample
        stages[f"velocity_t{t:g}"] = -v  # the official u = dx/dt (see flowsep.models.unet_flowsep)
    stages["decoded_mel"] = codec.decode(captured["sample"])  # (1, M, N)
    stages["waveform"] = out.audios[0] * gain  # at the level the model ran at
    stages["timesteps"], stages["pipe"] = captured["timesteps"], pipe
    return stages


@torch.no_grad()
def parity_table(ours: dict, theirs: dict, times) -> dict:
    """Stage -> comparison; the vocoder rows run flowsep's vocoder on the authors' decoded mel."""
    samples = ours["waveform"].shape[-1]
    length = int(ours["text_mask"].sum())
    rows = {
        "levelled waveform": (ours["levelled"], theirs["levelled"]),
        "log-mel": (ours["log_mel"], theirs["log_mel"]),
        "Flan-T5 states (query tokens)": (ours["text_states"][0], theirs["text_states"][0, :length]),
        "start noise": (ours["start_noise"], theirs["start_noise"]),
        "mixture latent (posterior sample)": (ours["mixture_latents"], theirs["mixture_latents"]),
        **{f"velocity at t = {t:g}": (ours[f"velocity_t{t:g}"], theirs[f"velocity_t{t:g}"]) for t in times},
        f"{len(ours['timesteps'])}-step sample": (ours["sample"], theirs["sample"]),
        "decoded log-mel": (ours["decoded_mel"][0].T, theirs["decoded_mel"][0, 0]),
        "waveform (end to end)": (ours["waveform"], theirs["waveform"][0, 0, :samples]),
    }
    table = {name: compare(a, b, FLOAT32_BOUND) for name, (a, b) in rows.items()}
    vocoder, mel = ours["pipe"].vocoder, theirs["decoded_mel"][:, 0].transpose(1, 2)  # (1, M, N)
    table["vocoder, same mel, float32"] = compare(vocoder(mel)[0], theirs["waveform"][0, 0, :samples], 1.0)
    vocoder.double()
    table["vocoder, same mel, float64"] = compare(
        vocoder(mel.double())[0], theirs["waveform_float64"][0, 0, :samples], FLOAT64_BOUND
    )
    return table


def markdown(table: dict, facts: dict) -> str:
    lines = ["| stage | shape | max abs | relative L2 | bound |", "| --- | --- | --- | --- | --- |"]
    for name, row in table.items():
        bound = (
            "reported" if row["bound"] >= 1 else f"{row['bound']:.0e}" + (" ok" if row["within"] else " FAIL")
        )
        shape = " x ".join(map(str, row["shape"]))
        lines.append(f"| {name} | {shape} | {row['max_abs']:.2e} | {row['relative_l2']:.2e} | {bound} |")
    return "\n".join(lines + [""] + [f"- {key}: {value}" for key, value in facts.items()]) + "\n"


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--authors-src", required=True, help="a checkout of the authors' FlowSep repository")
    parser.add_argument("checkpoint", help="a checkpoint in the official layout")
    parser.add_argument("--model", help="its conversion (default: converted into --work first)")
    parser.add_argument("--text-encoder", help="Flan-T5 config and tokenizer (default: flan-t5 beside CKPT)")
    parser.add_argument("--authors-python", default=sys.executable, help="interpreter for the authors' code")
    parser.add_argument("--wave", help="a 10.24 s mixture at 16 kHz (default: a tone, a chirp and noise)")
    parser.add_argument("--query", default="a dog barking")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--times", type=float, nargs=3, default=[0.0, 0.3, 0.9])
    parser.add_argument("--work", help="scratch folder (default: a temporary one)")
    parser.add_argument("--out", default=str(HERE / "reports" / "official_parity"), help="report path stem")
    args = parser.parse_args()
    args.checkpoint = str(Path(args.checkpoint).resolve())
    args.text_encoder = str(Path(args.text_encoder or Path(args.checkpoint).parent / "flan-t5").resolve())

    with tempfile.TemporaryDirectory(dir=args.work) as scratch:
        work = Path(scratch)
        if args.model is None:
            from flowsep.conversion import convert_official_flowsep

            args.model = str(work / "converted")
            convert_official_flowsep(args.checkpoint, args.model, args.text_encoder, log=print)
        wave = Path(args.wave) if args.wave else work / "mixture.wav"
        if not args.wave:
            write_mixture(wave, args.seed)
        theirs = run_authors(args, wave, work / "authors.pt")
        ours = run_flowsep(args, wave)
    table = parity_table(ours, theirs, args.times)
    facts = {
        "timesteps flowsep's UNet was called at (sigma x 1000)": [round(t, 3) for t in ours["timesteps"]],
        "attention blocks per UNet forward in the authors' run": theirs["attention_calls_per_forward"],
        "waveform samples: flowsep (the input's length), the authors'": (
            ours["waveform"].shape[-1], theirs["waveform"].shape[-1]),
        "checkpoint tensors their model does not use; its buffers the checkpoint lacks": tuple(
            theirs["checkpoint_keys"].values()),
        "query, seed, steps": (args.query, args.seed, args.steps),
        "every bounded stage within its bound": all(row["within"] for row in table.values() if row["bound"] < 1),
    }  # fmt: skip
    report = markdown(table, facts)
    print(report)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(f"{args.out}.md").write_text(report)
    Path(f"{args.out}.json").write_text(json.dumps({"stages": table, "facts": facts}, indent=1) + "\n")


if __name__ == "__main__":
    main()
