"""Checks of output paths, made before a model loads: outputs never replace an input, nor leave their folder."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import soundfile as sf

from ..errors import OutputPathError

PathLike = str | os.PathLike


def check_output_files(outputs: Iterable[PathLike], inputs: Iterable[PathLike], overwrite: bool = False):
    """Raise :class:`OutputPathError` when an audio output has no known format, would replace an input, is
    named twice, is a folder, or already exists (unless ``overwrite``)."""
    sources, seen = {Path(path).resolve() for path in inputs}, set()
    for output in outputs:
        path = Path(output).resolve()
        if path.suffix[1:].upper() not in sf.available_formats():
            raise OutputPathError(f"{output}: not an audio file name (use .wav, .flac or .ogg)")
        if path in sources:
            raise OutputPathError(f"{output} would replace an input file: choose another name")
        if path in seen:
            raise OutputPathError(f"{output} is named twice as an output")
        if path.is_dir():
            raise OutputPathError(f"{output} is a folder: give a file name")
        if path.exists() and not overwrite:
            raise OutputPathError(f"{output} exists: choose another name, or pass --overwrite to replace it")
        seen.add(path)


def check_output_folder(folder: PathLike, outputs: Iterable[PathLike], inputs: Iterable[PathLike]):
    """Raise :class:`OutputPathError` when an output lies outside ``folder`` or would replace an input."""
    root, sources = Path(folder).resolve(), {Path(path).resolve() for path in inputs}
    for output in outputs:
        path = Path(output).resolve()
        if not path.is_relative_to(root):
            raise OutputPathError(f"{output} would be written outside the output folder {folder}")
        if path in sources:
            raise OutputPathError(f"{output} would replace an input file: choose another output folder")


def check_separate_folders(input_folder: PathLike, output_folder: PathLike):
    """Raise :class:`OutputPathError` when one folder holds the other (outputs would be read as inputs)."""
    source, target = Path(input_folder).resolve(), Path(output_folder).resolve()
    if source.is_relative_to(target) or target.is_relative_to(source):
        raise OutputPathError(f"the output folder {output_folder} and the input folder {input_folder} overlap")
