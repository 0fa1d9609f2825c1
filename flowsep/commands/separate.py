"""``flowsep separate``: extract (or remove) the queried sounds from one file.

Queries may be instructions ("remove the noise", "isolate the dog", "speech without the music"; see
:mod:`flowsep.queries`). Several queries (``-q "a dog" -q "speech"``) run in one pass over the mixture: one file
per query, ``<name>.<query>.wav``, and ``<name>.rest.wav``, what no query claimed, all adding up to the input.
Outputs come back at the input's sample rate and channel count (``--model-rate`` writes the model's mono
instead), so that the kept sound plus the residual is the input. ``--spans`` writes where each output is active.
Every query, flag, the input and every output path are checked before the model loads.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..audio import AUDIO_SUFFIXES
from ..errors import OutputPathError, UsageError
from .options import add_model_arguments, check_model_options, prepare_pipeline, sampling_options
from .outputs import FORMAT_MAX_CHANNELS, check_output_files, check_writable_place, file_key, output_format
from .query_options import add_query_arguments, add_span_arguments, query_plans, span_settings


def register(subparsers):
    parser = subparsers.add_parser(
        "separate", help="separate the sound a text query describes from a mixture"
    )
    parser.add_argument(
        "mixture", help=f"input audio file ({', '.join(AUDIO_SUFFIXES)}; any rate and channels)"
    )
    add_query_arguments(parser)
    parser.add_argument(
        "-o", "--output",
        help="output file (.wav, .flac, .ogg) for the kept sound (default: <name>.<query>.wav beside the input); "
        "with several queries, a folder (default: the input's)",
    )  # fmt: skip
    parser.add_argument("--residual", help="also write the other part (the mixture minus the output)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.add_argument(
        "--model-rate",
        action="store_true",
        help="write mono at the model's rate (default: the input's rate and channels)",
    )
    add_span_arguments(parser)
    add_model_arguments(parser)
    parser.set_defaults(func=run)


def describe(path, wave, rate: int) -> str:
    """``"dog.wav (44100 Hz, 2 channels, 10.00 s)"`` for a written wave ``(C, S)`` or ``(S,)``."""
    channels = 1 if wave.ndim == 1 else wave.shape[0]
    return (
        f"{path} ({rate} Hz, {channels} channel{'s' if channels > 1 else ''}, {wave.shape[-1] / rate:.2f} s)"
    )


def output_subtype(source, output) -> str | None:
    """The input's sample format (e.g. PCM_24, FLOAT) when the output's container can hold it, else its default."""
    import soundfile as sf

    try:
        subtype = sf.info(str(source)).subtype
    except Exception:  # mp3 and other formats soundfile reads without a subtype we could write
        return None
    return subtype if sf.check_format(output_format(output), subtype) else None


def output_names(args: argparse.Namespace, plans) -> tuple[list[Path], Path | None]:
    """The output file of each query and the rest file (several queries only): ``-o``, or ``<name>.<query>.wav``
    in ``-o`` (a folder) or beside the input."""
    from .separate_batch import query_folders

    source = Path(args.mixture)
    if len(plans) == 1:
        if args.output:
            return [Path(args.output)], None
        return [source.with_name(f"{source.stem}.{query_folders([plans[0].text])[plans[0].text]}.wav")], None
    if args.residual:
        raise UsageError("--residual is for one query: with several, the rest is written as <name>.rest.wav")
    folder = Path(args.output) if args.output else source.parent
    if folder.suffix.lower() in (".wav", ".flac", ".ogg") and not folder.is_dir():
        raise UsageError(
            f"-o {args.output}: with several queries, -o is a folder (files are <name>.<query>.wav)"
        )
    if folder.exists() and not folder.is_dir():
        raise OutputPathError(f"-o {args.output}: with several queries, -o is a folder, and this is a file")
    names = query_folders([plan.text for plan in plans])
    return [
        folder / f"{source.stem}.{names[plan.text]}.wav" for plan in plans
    ], folder / f"{source.stem}.rest.wav"


def span_files(outputs: list[Path]) -> list[Path]:
    """``x.spans.json`` and ``x.spans.csv`` beside each output ``x.wav``."""
    return [output.with_name(f"{output.stem}.spans.{kind}") for output in outputs for kind in ("json", "csv")]


def check_span_files(files: list[Path], inputs: list, overwrite: bool):
    """Span files replace no input and are writable (as audio outputs are)."""
    sources = {file_key(path) for path in inputs}
    for path in files:
        if file_key(path) in sources:
            raise OutputPathError(f"{path} would replace an input file: choose another output name")
        check_writable_place(path, overwrite)


def run(args: argparse.Namespace) -> int:
    from ..audio import read_audio

    # 1. Check the queries, every flag, path and input before anything heavy is imported or loaded
    plans = query_plans(args)
    spans = span_settings(args)
    targets, rest_file = output_names(args, plans)
    outputs = targets + [
        Path(p) for p in ([args.residual] if args.residual else []) + ([rest_file] if rest_file else [])
    ]
    check_output_files(outputs, [args.mixture], args.overwrite)
    if args.spans:
        check_span_files(span_files(targets), [args.mixture, *outputs], args.overwrite)
    check_model_options(args)
    mixture, rate = read_audio(args.mixture)  # (C, S): bad input fails here
    for output in outputs:
        limit = FORMAT_MAX_CHANNELS.get(output_format(output))
        if limit and not args.model_rate and mixture.shape[0] > limit:
            raise OutputPathError(
                f"{output}: {output_format(output)} holds at most {limit} channels, "
                f"the input has {mixture.shape[0]} (use .wav)"
            )

    # 2. Separate, all queries in one pass
    import torch

    pipe = prepare_pipeline(args)
    result = pipe(
        plans, mixture, sample_rate=rate, return_residual=True, output_format="model" if args.model_rate else "input",
        generator=torch.Generator(device="cpu").manual_seed(args.seed), joint=len(plans) > 1,
        return_spans=args.spans, span_options=spans, **sampling_options(args),
    )  # fmt: skip

    # 3. Write (atomically): the residual or rest first, the outputs last
    from ..audio import save_audio, write_text_atomic
    from ..spans import SpanOptions, spans_csv, spans_json

    def write(path, wave) -> str:
        subtype = None if args.model_rate else output_subtype(args.mixture, path)
        save_audio(path, wave, result.sample_rate, subtype=subtype)
        return describe(path, wave, result.sample_rate)

    lines, done = [], []
    if args.residual:
        lines.append(f"  and the residual: wrote {write(args.residual, result.residuals[0])}")
    if rest_file:
        lines.append(f"rest (what no query claimed): wrote {write(rest_file, result.rest)}")
    for index, (plan, path) in enumerate(zip(plans, targets)):
        done.append(f"{result.operation[index]}: wrote {write(path, result.audios[index])}")
        if args.spans:
            found, (json_file, csv_file) = result.spans[index], span_files([path])
            write_text_atomic(
                json_file, spans_json(found, plan.text, result.operation[index], SpanOptions(**spans))
            )
            write_text_atomic(csv_file, spans_csv(found))
            shown = ", ".join(f"{start:.2f}-{end:.2f} s" for start, end in found[:8]) + " ..." * (
                len(found) > 8
            )
            done.append(
                f"  {len(found)} span(s) active: {shown or 'none'} ({json_file.name}, {csv_file.name})"
            )
    print("\n".join(done + lines))
    return 0
