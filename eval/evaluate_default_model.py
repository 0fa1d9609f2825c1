"""Separation quality of a model on a benchmark, against the unprocessed mixture and the oracle mask.

Rows (SI-SDR, SI-SDRi, SDRi over the benchmark's items):

* ``mixture``: the unprocessed input (improvements are 0 by definition);
* ``oracle mask (<rule>)``: the mask decoder fed the *reference* target's mel: the ceiling of mask-based output
  at this mel/STFT resolution (``ratio`` is the ideal ratio mask);
* ``oracle through the latent``: the reference mel after the model's latent (its VAE, or the log-mel itself),
  then the mask: the latent's ceiling;
* ``model, mask (<rule>)``: the model's generated target mel (``--steps`` Euler steps) through each mask rule;
* ``model, 1 step``: the same network read out once from the mixture (``x0_hat = x1 - v``): what the flow's
  further steps add or cost;
* ``predictive baseline``: with ``--predictive DIR``, a model of the same size and budget trained with
  ``flow.objective: predictive`` (one pass from the mixture to the target, e.g. ``runs/ablation/predictive/pipeline``
  of ``eval/ablation.py``), through the pipeline (one pass);
* ``model, vocoder``: the paper's decoder, when the model has a vocoder;
* ``model, wording: <family>``: the same items queried with one wording of each family the corpus records on
  its valid and test rows (``query_wordings``: a one-word name, a synonym, a noun phrase, a sentence, an
  instruction, see ``recipes/corpus/wordings.py``) and ``paraphrase``, phrasings absent from the training captions;
* ``model, word "<w>"``: the plain words users type most (:data:`NAMED_WORDS`: "speech" and "voice" on speech,
  "music", "dog", "rain", "noise"), each on the items of its classes.

A second table splits the SI-SDRi of the oracle ratio mask and of the model's outputs by the input SNR of the
target (buried, comparable, dominant); a third gives the SI-SDRi of each wording family per target class.

    python eval/evaluate_default_model.py --model checkpoints/flowsep-mini --benchmark data/benchmarks/debian-test

Prints a Markdown table and writes JSON and Markdown (default ``eval/reports/default_model.*``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from flowsep.audio import load_audio
from flowsep.choices import SIGMA_GRIDS
from flowsep.commands.options import non_negative
from flowsep.data.manifest import read_manifest
from flowsep.decoding import MASK_RULES, decode_target
from flowsep.evaluation import read_benchmark
from flowsep.loading import load_pipeline
from flowsep.metrics import evaluate_separation


def clips_by_id(corpus_manifest: Path) -> dict:
    """``clip id -> record`` of the corpus manifest (its ``labels`` and ``paraphrase_captions`` column)."""
    return {record.id: record for record in read_manifest(corpus_manifest)}


NAMED_WORDS = {  # word -> the target classes it names
    "speech": ("speech_male", "speech_female"),
    "voice": ("speech_male", "speech_female"),
    "music": ("music",),
    "dog": ("dog",),
    "rain": ("rain",),
    "noise": ("noise",),
}
WORDING_ROW = "model, wording: "


def alternative_queries(clip, item_index: int) -> dict[str, str]:
    """``row name -> query`` of a clip's other wordings: its ``query_wordings`` families, a held-out paraphrase
    (chosen by ``item_index``) and the :data:`NAMED_WORDS` that name its class."""
    if clip is None:
        return {}
    queries = {
        f"{WORDING_ROW}{family}": query for family, query in clip.extra.get("query_wordings", {}).items()
    }
    paraphrases = clip.extra.get("paraphrase_captions", [])
    if paraphrases:
        queries[f"{WORDING_ROW}paraphrase"] = paraphrases[item_index % len(paraphrases)]
    label = clip.labels[0] if clip.labels else None
    queries |= {f'model, word "{word}"': word for word, classes in NAMED_WORDS.items() if label in classes}
    return queries


def evaluation_queries(clip) -> set[str]:
    """Every query the evaluation may put for a clip (for a text table): captions, wordings, paraphrases, words."""
    queries = set(clip.captions) | set(clip.extra.get("paraphrase_captions", []))
    return queries | {query for index in range(2) for query in alternative_queries(clip, index).values()}


SNR_BANDS = ((-float("inf"), -5.0), (-5.0, 5.0), (5.0, float("inf")))
SNR_SPLIT_ROWS = (
    "oracle mask (ratio)",
    "model, mask (ratio)",
    "model, 1 step (ratio)",
    "predictive baseline (ratio)",
)


def si_sdri_by_snr(si_sdri: torch.Tensor, snr_db: torch.Tensor) -> dict[str, dict]:
    """Mean SI-SDRi ``(N,)`` per band of input SNR ``(N,)``: ``{"[lo, hi)": {"items", "mean"}}``."""
    bands = {}
    for low, high in SNR_BANDS:
        chosen = (snr_db >= low) & (snr_db < high)
        mean = float(si_sdri[chosen].mean()) if chosen.any() else float("nan")
        bands[f"[{low:g}, {high:g}) dB"] = {"items": int(chosen.sum()), "mean": mean}
    return bands


def separate(pipe, query: str, mixture: torch.Tensor, args, seed: int, **options) -> torch.Tensor:
    """The model's output (a waveform unless ``output_type`` says otherwise) for one mixture ``(T,)`` with the
    run's steps and guidance."""
    options.setdefault("output_type", "pt")
    options.setdefault("num_inference_steps", args.steps)
    out = pipe(
        query, mixture, sample_rate=pipe.config.sample_rate,
        guidance_scale=args.guidance, source_noise=args.source_noise, generator=torch.Generator().manual_seed(seed),
        sigma_grid=args.sigma_grid, **options,
    )  # fmt: skip
    return out.audios[0]


def generated_mel(pipe, query: str, mixture: torch.Tensor, args, seed: int, **options) -> torch.Tensor:
    """The model's target log-mel ``(n_mels, frames)`` for the levelled mixture."""
    return separate(pipe, query, mixture, args, seed, output_type="mel", **options)


def through_latent(codec, window_frames: int, wave: torch.Tensor) -> torch.Tensor:
    """Levelled reference log-mel after the model's latent, window by window: ``(T,)`` -> ``(n_mels, frames)``."""
    plan = codec.window_plan(len(wave), window_frames, 0.0)
    adder = plan.mel_adder()
    with torch.no_grad():
        for index in range(len(plan)):
            latents, _ = codec.encode(plan.window_of(wave, index)[None])
            adder.add(index, codec.decode(latents)[0].exp())
    return adder.result().clamp(min=codec.mel.log_floor).log()


def masked(mel: torch.Tensor, mixture: torch.Tensor, rule: str, pipe) -> torch.Tensor:
    """The mask decoder's output for a levelled log-mel ``(n_mels, frames)``, at the level of ``mixture (T,)``."""
    return decode_target(mel, mixture, pipe.codec, "mask", rule, device=pipe.device)


def evaluate(args) -> dict:
    pipe = load_pipeline(args.model, args.device)
    pipe.set_progress_bar_config(disable=True)
    predictive = load_pipeline(args.predictive, args.device) if args.predictive else None
    if predictive is not None:
        predictive.set_progress_bar_config(disable=True)
    bench = read_benchmark(args.benchmark, limit=args.limit)
    clips = clips_by_id(Path(args.corpus)) if args.corpus else {}
    rate, codec = pipe.config.sample_rate, pipe.codec
    rows: dict[str, list[tuple[int, torch.Tensor]]] = {}
    references, mixtures, classes, seconds = [], [], [], 0.0
    for item_index, item in enumerate(tqdm(bench.items, desc="evaluating", unit="item")):
        mixture = load_audio(item.mixture, target_sample_rate=rate)
        reference = load_audio(item.reference, target_sample_rate=rate)
        _, gain = codec.level(mixture)
        estimates = {"mixture": mixture}
        reference_mel = codec.log_mel(reference * gain)[0]
        for rule in MASK_RULES:
            estimates[f"oracle mask ({rule})"] = masked(reference_mel, mixture, rule, pipe)
        latent_mel = through_latent(codec, pipe.transformer.config.sample_size, reference * gain)
        estimates["oracle through the latent (ratio)"] = masked(latent_mel, mixture, "ratio", pipe)
        start = time.perf_counter()
        mel = generated_mel(pipe, item.query, mixture, args, args.seed + item_index)
        seconds += time.perf_counter() - start
        for rule in MASK_RULES:
            estimates[f"model, mask ({rule})"] = masked(mel, mixture, rule, pipe)
        seed = args.seed + item_index
        one_step = generated_mel(pipe, item.query, mixture, args, seed, num_inference_steps=1)
        estimates["model, 1 step (ratio)"] = masked(one_step, mixture, "ratio", pipe)
        if predictive is not None:
            baseline = generated_mel(predictive, item.query, mixture, args, seed, num_inference_steps=1)
            estimates["predictive baseline (ratio)"] = masked(baseline, mixture, "ratio", predictive)
        if pipe.vocoder is not None:
            estimates["model, vocoder"] = separate(
                pipe, item.query, mixture, args, args.seed + item_index, decoder="vocoder"
            )
        clip = clips.get(str(item.extra.get("target_id", "")))
        for name, query in alternative_queries(clip, item_index).items():
            estimates[f"{name} (ratio)"] = masked(
                generated_mel(pipe, query, mixture, args, seed), mixture, "ratio", pipe
            )
        classes.append(clip.labels[0] if clip and clip.labels else "?")
        for name, estimate in estimates.items():
            rows.setdefault(name, []).append((item_index, estimate[: len(reference)]))
        references.append(reference)
        mixtures.append(mixture[: len(reference)])
    table, by_snr, by_class = {}, {}, {}
    snrs = torch.tensor([item.snr_db for item in bench.items])
    for name, pairs in rows.items():
        indices = [index for index, _ in pairs]
        scores = evaluate_separation(
            torch.stack([estimate for _, estimate in pairs]),
            torch.stack([references[i] for i in indices]),
            torch.stack([mixtures[i] for i in indices]),
        )
        table[name] = {"items": len(indices)} | {m: summary.__dict__ for m, summary in scores.summary.items()}
        if name in SNR_SPLIT_ROWS:
            by_snr[name] = si_sdri_by_snr(torch.as_tensor(scores.per_item["si_sdri"]), snrs[indices])
        if name.startswith(WORDING_ROW) or name == "model, mask (ratio)":
            family = (
                name.removeprefix(WORDING_ROW).removesuffix(" (ratio)")
                if name.startswith(WORDING_ROW)
                else "query"
            )
            for index, value in zip(indices, scores.per_item["si_sdri"]):
                by_class.setdefault(classes[index], {}).setdefault(family, []).append(float(value))
    return {
        "model": str(args.model), "benchmark": str(args.benchmark), "items": len(references), "steps": args.steps,
        "guidance": args.guidance, "source_noise": args.source_noise,
        "sigma_grid": args.sigma_grid or pipe.config.sigma_grid,
        "seconds_per_item": seconds / max(1, len(references)), "rows": table, "si_sdri_by_input_snr": by_snr,
        "si_sdri_by_class_and_wording": {
            label: {family: {"items": len(v), "mean": sum(v) / len(v)} for family, v in families.items()}
            for label, families in sorted(by_class.items())
        },
    }  # fmt: skip


def markdown(result: dict) -> str:
    lines = [
        (
            f"Model `{result['model']}`, benchmark `{result['benchmark']}` ({result['items']} items), "
            f"{result['steps']} steps, guidance {result['guidance']}, "
            + (f"source noise {result['source_noise']}, " if result.get("source_noise") is not None else "")
            + f"{result['seconds_per_item']:.2f} s per item."
        ),
        "",
        "| output | SI-SDR (dB) | SI-SDRi (dB) | SDRi (dB) |", "|---|---:|---:|---:|",
    ]  # fmt: skip
    for name, metrics in result["rows"].items():
        cells = [f"{metrics[m]['mean']:.2f}" for m in ("si_sdr", "si_sdri", "sdri")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    by_snr = result.get("si_sdri_by_input_snr", {})
    if by_snr:
        first = next(iter(by_snr.values()))
        bands, counts = list(first), [str(value["items"]) for value in first.values()]
        lines += ["", "SI-SDRi (dB) by the target's input SNR:", "", "| output | " + " | ".join(bands) + " |",
                  "|---|" + "---:|" * len(bands), "| items | " + " | ".join(counts) + " |"]  # fmt: skip
        for name, values in by_snr.items():
            lines.append(f"| {name} | " + " | ".join(f"{values[band]['mean']:.2f}" for band in bands) + " |")
    return "\n".join(lines + wording_table(result.get("si_sdri_by_class_and_wording", {}))) + "\n"


def wording_table(by_class: dict) -> list[str]:
    """Markdown lines: SI-SDRi per target class (rows) and wording family (columns), and each class's spread
    (its best family's mean minus its worst)."""
    families = list(dict.fromkeys(family for row in by_class.values() for family in row))
    if not families:
        return []
    lines = [
        "",
        "SI-SDRi (dB) by target class and query wording (`query`: the benchmark's own caption):",
        "",
        "| class | items | " + " | ".join(families) + " | spread |",
        "|---|---:|" + "---:|" * (len(families) + 1),
    ]
    for label, row in by_class.items():
        means = [row[f]["mean"] for f in families if f in row]
        cells = [f"{row[f]['mean']:.2f}" if f in row else "" for f in families]
        items = max(entry["items"] for entry in row.values())
        lines.append(f"| {label} | {items} | " + " | ".join(cells) + f" | {max(means) - min(means):.2f} |")
    return lines


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="checkpoints/flowsep-mini")
    parser.add_argument("--benchmark", default="data/benchmarks/debian-test")
    parser.add_argument(
        "--corpus",
        default="data/debian-corpus/manifest.jsonl",
        help="for the classes and wordings of the clips",
    )
    parser.add_argument("--predictive", help="a predictive baseline model folder (row 'predictive baseline')")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument(
        "--sigma-grid",
        choices=SIGMA_GRIDS,
        help="the flow's steps: uniform or diffusers (default: the model's)",
    )
    parser.add_argument("--guidance", type=float, default=1.0, help="classifier-free guidance (1 = off)")
    parser.add_argument(
        "--source-noise", type=non_negative, help="start noise of a mixture-source model (default: its own)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="eval/reports/default_model")
    args = parser.parse_args()
    result = evaluate(args)
    text = markdown(result)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + ".json").write_text(json.dumps(result, indent=1))
    Path(args.out + ".md").write_text(text)


if __name__ == "__main__":
    main()
