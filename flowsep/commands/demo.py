"""``flowsep demo``: separate the bundled example mixture with the default model.

Writes, for each of the example's queries, the kept sound and the residual as wav files and one figure with the
log-mel spectrograms of mixture, target and residual.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import OutputPathError
from .options import add_model_arguments, check_model_options, prepare_pipeline, sampling_options
from .outputs import check_writable_folder

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def register(subparsers):
    parser = subparsers.add_parser("demo", help="separate the bundled example mixture with the default model")
    parser.add_argument("-o", "--output-dir", default="flowsep-demo", help="folder for the results")
    add_model_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out_dir = Path(args.output_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputPathError(f"{out_dir} exists and is not a folder: give a folder for the demo's files")
    check_writable_folder(out_dir)
    check_model_options(args)
    import torch

    from ..audio import load_audio
    from ..figures import write_example

    example = json.loads((ASSETS / "demo.json").read_text())
    pipe = prepare_pipeline(args)
    rate = pipe.config.sample_rate
    mixture = load_audio(ASSETS / example["mixture"], target_sample_rate=rate)
    print(f"mixture: {example['description']}")
    for query in example["queries"]:
        result = pipe(
            query, mixture, sample_rate=rate, return_residual=True, output_type="pt",
            generator=torch.Generator().manual_seed(args.seed), **sampling_options(args),
        )  # fmt: skip
        name = "-".join(query.lower().split())
        waves = {"mixture": mixture, "target": result.audios[0], "residual": result.residuals[0]}
        write_example(out_dir, name, pipe.codec.mel, waves)
        print(f"'{query}': {out_dir / (name + '_target.wav')}, {out_dir / (name + '_residual.wav')}, "
              f"{out_dir / (name + '.png')}")  # fmt: skip
    return 0
