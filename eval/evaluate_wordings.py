"""The README's wording table: what each instruction form extracts or removes, and the SI-SDRi of the speech.

On the 30 mixtures of ``eval/query_mixtures.py`` (espeak speech over a tone melody, white or pink noise, clicks or
music; SNR -5/0/+5 dB; 16 kHz mono and 44.1 kHz stereo; 5 s), every wording is given to the shipped model (or
``--model``) as a user would type it, output at the input's rate and channels, and scored against the speech
(SI-SDRi averaged over channels). ``{other}`` is the other sound's everyday name (beeping, noise, clicks, music).
Writes ``eval/reports/wordings.{json,md}``::

    python eval/evaluate_wordings.py [--model DIR] [--steps 10]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from query_mixtures import build_mixtures  # noqa: E402

from flowsep import load_pipeline  # noqa: E402
from flowsep.metrics.separation import si_sdr_improvement  # noqa: E402
from flowsep.queries import QueryPlan  # noqa: E402

OTHER_NAMES = {
    "tone": "beeping",
    "white noise": "noise",
    "pink noise": "noise",
    "clicks": "clicks",
    "music": "music",
}
WORDINGS = (  # (form, wording); {other} is the other sound's name
    ("noun phrase", "a man speaking"),
    ("word", "speech"),
    ("isolate X", "isolate a man speaking"),
    ("keep only X", "keep only a man speaking"),
    ("X without Y", "a man speaking without the {other}"),
    ("remove Y", "remove the {other}"),
    ("without Y", "without the {other}"),
    ("no Y", "no {other}"),
    ("minus Y", "minus the {other}"),
    ("everything but Y", "everything but the {other}"),
    ("everything except Y", "everything except the {other}"),
    ("--remove Y", "--remove {other}"),
    ("remove the noise (literal)", "remove the noise"),
    ("--remove noise (literal)", "--remove noise"),
    ("remove the noise, as written (before: no instructions)", "raw:remove the noise"),
)


def request(wording: str, other: str):
    """The pipeline's prompt and keyword arguments for one wording."""
    text = wording.format(other=other)
    if text.startswith("--remove "):
        target = text.removeprefix("--remove ")
        return [QueryPlan(text, "remove", target)], {}
    if text.startswith("raw:"):
        return text.removeprefix("raw:"), {"instructions": False}
    return text, {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--out", default="eval/reports/wordings")
    args = parser.parse_args()
    torch.set_num_threads(1)
    pipe = load_pipeline(args.model, "cpu")
    pipe.set_progress_bar_config(disable=True)
    mixtures = build_mixtures()
    rows, start = [], time.perf_counter()
    for form, wording in WORDINGS:
        scores, operations = {"16k": [], "44k": []}, set()
        white = {"16k": [], "44k": []}
        for item in mixtures:
            prompt, extra = request(wording, OTHER_NAMES[item.kind])
            out = pipe(prompt, item.mixture, sample_rate=item.rate, num_inference_steps=args.steps,
                       output_format="input", output_type="pt", **extra)  # fmt: skip
            done = out.operation[0]
            operations.add(
                done.replace(f"'{OTHER_NAMES[item.kind]}'", "'{other}'") if "{other}" in wording else done
            )
            gain = si_sdr_improvement(
                out.audios[0], torch.from_numpy(item.speech), torch.from_numpy(item.mixture)
            )
            key = "16k" if item.rate == 16000 else "44k"
            scores[key].append(float(gain.mean()))
            if item.kind == "white noise":
                white[key].append(float(gain.mean()))
        every = scores["16k"] + scores["44k"]
        rows.append({
            "form": form, "wording": wording, "operation": sorted(operations), "mean": float(np.mean(every)),
            "mean_16k_mono": float(np.mean(scores["16k"])), "mean_44k_stereo": float(np.mean(scores["44k"])),
            "white_noise_16k": float(np.mean(white["16k"])), "white_noise_44k": float(np.mean(white["44k"])),
            "items": len(every),
        })  # fmt: skip
        print(f"{form:40s} {rows[-1]['mean']:+6.2f} dB  {'; '.join(sorted(operations))}", flush=True)
    report = {
        "model": str(args.model or "flowsep-mini"), "steps": args.steps, "mixtures": len(mixtures),
        "seconds": round(time.perf_counter() - start, 1), "load_average": os.getloadavg(), "rows": rows,
    }  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(f"{args.out}.json").write_text(json.dumps(report, indent=1))
    lines = [
        "| form | typed | what was done | SI-SDRi (dB) | 16 kHz mono | 44.1 kHz stereo |",
        "|---|---|---|---:|---:|---:|",
    ]
    for row in rows:
        done = " / ".join(f"`{op}`" for op in row["operation"])
        lines.append(f"| {row['form']} | `{row['wording']}` | {done} | {row['mean']:+.2f} | "
                     f"{row['mean_16k_mono']:+.2f} | {row['mean_44k_stereo']:+.2f} |")  # fmt: skip
    Path(f"{args.out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
