"""``flowsep separate``: extract (or remove) the queried sound from one file.

Outputs come back at the input's sample rate and channel count (``--model-rate`` writes the model's mono
instead), so that the kept sound plus the residual is the input. Every flag, the input and every output path are
checked before the model loads.
"""

from __future__ import annotations

import argparse

from ..audio import AUDIO_SUFFIXES
from .options import add_model_arguments, check_model_options, prepare_pipeline, sampling_options
from .outputs import FORMAT_MAX_CHANNELS, check_output_files, output_format


def register(subparsers):
    parser = subparsers.add_parser(
        "separate", help="separate the sound a text query describes from a mixture"
    )
    parser.add_argument(
        "mixture", help=f"input audio file ({', '.join(AUDIO_SUFFIXES)}; any rate and channels)"
    )
    query = parser.add_mutually_exclusive_group(required=True)
    query.add_argument("--query", "-q", help="the sound to keep, e.g. 'a dog barking'")
    query.add_argument("--remove", metavar="QUERY", help="the sound to remove: the output is everything else")
    parser.add_argument(
        "-o", "--output", required=True, help="output file (.wav, .flac, .ogg) for the kept sound"
    )
    parser.add_argument("--residual", help="also write the other part (the mixture minus the output)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.add_argument(
        "--model-rate",
        action="store_true",
        help="write mono at the model's rate (default: the input's rate and channels)",
    )
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


def run(args: argparse.Namespace) -> int:
    from ..audio import read_audio
    from ..errors import OutputPathError

    # 1. Check every flag, path and input before anything heavy is imported or loaded
    outputs = [args.output] + ([args.residual] if args.residual else [])
    check_output_files(outputs, [args.mixture], args.overwrite)
    query = args.query if args.query is not None else args.remove
    if not query.strip():  # the library's wording, without importing transformers for a valid query
        from ..models.text_encoder import check_queries

        check_queries(query)
    check_model_options(args)
    mixture, rate = read_audio(args.mixture)  # (C, S): bad input fails here
    for output in outputs:
        limit = FORMAT_MAX_CHANNELS.get(output_format(output))
        if limit and not args.model_rate and mixture.shape[0] > limit:
            raise OutputPathError(
                f"{output}: {output_format(output)} holds at most {limit} channels, "
                f"the input has {mixture.shape[0]} (use .wav)"
            )

    # 2. Separate
    import torch

    pipe = prepare_pipeline(args)
    result = pipe(
        query.strip(), mixture, sample_rate=rate, return_residual=True, output_format="model" if args.model_rate else "input",
        generator=torch.Generator(device="cpu").manual_seed(args.seed), **sampling_options(args),
    )  # fmt: skip

    # 3. Write (atomically), the residual first: the main output appears last
    target, residual = result.audios[0], result.residuals[0]
    kept, other = (residual, target) if args.remove is not None else (target, residual)
    written = []
    for path, wave in ((args.residual, other), (args.output, kept)):
        if path:
            from ..audio import save_audio

            save_audio(
                path,
                wave,
                result.sample_rate,
                subtype=None if args.model_rate else output_subtype(args.mixture, path),
            )
            written.insert(0, describe(path, wave, result.sample_rate))
    print("wrote " + " and ".join(written))
    return 0
