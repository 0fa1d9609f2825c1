"""``flowsep convert official-flowsep CKPT OUT_DIR --text-encoder DIR_OR_ID``: import the authors' checkpoint.

Writes a FlowSepPipeline folder (safetensors only) that ``FlowSepPipeline.from_pretrained`` and every ``flowsep``
command load (``--model OUT_DIR``). The checkpoint is read with ``torch.load(weights_only=True)``: Lightning's
non-tensor extras are skipped without being unpickled unless ``--trust-pickle`` is given.
"""

from __future__ import annotations

import argparse


def register(subparsers):
    parser = subparsers.add_parser(
        "convert", help="convert a checkpoint trained elsewhere into a flowsep model"
    )
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    official = kinds.add_parser(
        "official-flowsep", help="the FlowSep authors' Lightning checkpoint (v2_100k.ckpt, Zenodo 13869712)"
    )
    official.add_argument("checkpoint", help="the official checkpoint file (v2_100k.ckpt)")
    official.add_argument("output", help="pipeline folder to write")
    official.add_argument(
        "--text-encoder", required=True, metavar="DIR_OR_ID",
        help="folder or hub id with the Flan-T5 config and tokenizer (google/flan-t5-large); weights come from the checkpoint",
    )  # fmt: skip
    official.add_argument(
        "--trust-pickle", action="store_true",
        help="unpickle the whole file (runs code from it: only for a file you trust); by default only tensors are read",
    )  # fmt: skip
    official.add_argument(
        "--overwrite", action="store_true",
        help="replace an existing output folder (never one that holds the checkpoint or the text encoder)",
    )  # fmt: skip
    official.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..conversion.inputs import check_conversion

    # 1. Check the checkpoint's bytes, the text encoder and the output folder before torch is imported
    check_conversion(args.checkpoint, args.output, args.text_encoder, args.trust_pickle, args.overwrite)

    # 2. Convert
    from ..conversion import convert_official_flowsep

    report = convert_official_flowsep(
        args.checkpoint, args.output, args.text_encoder, trust_pickle=args.trust_pickle, overwrite=args.overwrite,
        log=lambda line: print(line, flush=True),
    )  # fmt: skip
    for note in report.notes:
        print(f"note: {note}")
    counts = ", ".join(f"{name} {count / 1e6:.1f} M" for name, count in report.parameters.items())
    print(f"parameters: {counts}; use it with --model {args.output}")
    return 0
