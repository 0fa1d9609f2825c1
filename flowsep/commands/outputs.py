"""Checks of output paths, made before a model loads: outputs never replace an input, never leave their folder,
never replace something that is not a regular file, and have a folder that can be written. Every command that
writes checks its outputs here: a file (:func:`check_output_files`), files under a folder the user named
(:func:`check_output_folder`), or a folder written as a whole (:func:`check_output_tree`).

Files are compared as files (device and inode, after resolving links), not as strings, so ``./mix.flac``, a
symbolic link or a hard link to an input are all recognised as that input. Light: no torch import.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from ..errors import OutputPathError

PathLike = str | os.PathLike
WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}  # containers an output may have
FORMAT_MAX_CHANNELS = {"FLAC": 8}


def file_key(path: PathLike) -> tuple:
    """What identifies a file: ``(device, inode)`` when it exists, else its resolved path."""
    resolved = Path(path).resolve()
    try:
        info = resolved.stat()
    except OSError:
        return ("path", str(resolved))
    return ("inode", info.st_dev, info.st_ino)


def output_format(output: PathLike) -> str:
    """The soundfile format of an output file name; :class:`OutputPathError` when it has none we write."""
    suffix = Path(output).suffix.lower()
    if suffix not in WRITE_FORMATS:
        raise OutputPathError(
            f"{output}: not an audio file name we can write (use {', '.join(WRITE_FORMATS)})"
        )
    return WRITE_FORMATS[suffix]


def check_writable_place(output: PathLike, overwrite: bool = False):
    """Raise :class:`OutputPathError` unless ``output`` can become a regular file: not a folder, not a device,
    fifo or socket, not existing (unless ``overwrite``), under a folder (not a file) that can be written."""
    path = Path(output)
    if path.is_dir():
        raise OutputPathError(f"{output} is a folder: give a file name")
    if path.exists() or path.is_symlink():
        try:
            mode = path.stat().st_mode
        except OSError:  # a dangling link
            raise OutputPathError(f"{output} is a broken link: remove it or choose another name") from None
        if not stat.S_ISREG(mode):
            raise OutputPathError(f"{output} exists and is not a regular file (a device, fifo or socket)")
        if not overwrite:
            raise OutputPathError(f"{output} exists: choose another name, or pass --overwrite to replace it")
    check_writable_folder(path.resolve().parent, shown=output)


def check_writable_folder(folder: PathLike, shown: PathLike | None = None):
    """Raise :class:`OutputPathError` unless ``folder`` is, or can be made as, a writable folder."""
    existing = Path(folder)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputPathError(f"{shown or folder}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputPathError(f"{shown or folder}: the folder {existing} is not writable")


def check_output_files(
    outputs: Iterable[PathLike], inputs: Iterable[PathLike], overwrite: bool = False,
    suffixes: Iterable[str] | None = None,
):  # fmt: skip
    """Raise :class:`OutputPathError` when an output has no format we write (an audio format, or one of
    ``suffixes``), would replace an input (the same file, whatever its name), is named twice, or cannot be written
    there (see `check_writable_place`)."""
    sources, seen, suffixes = {file_key(path) for path in inputs}, set(), suffixes and tuple(suffixes)
    for output in outputs:
        if Path(output).is_dir():
            raise OutputPathError(f"{output} is a folder: give a file name")
        if suffixes is None:
            output_format(output)
        elif Path(output).suffix.lower() not in suffixes:
            raise OutputPathError(f"{output}: give a file name ending in {' or '.join(suffixes)}")
        key = file_key(output)
        if key in sources:
            raise OutputPathError(f"{output} would replace an input file: choose another name")
        if key in seen:
            raise OutputPathError(f"{output} is named twice as an output")
        check_writable_place(output, overwrite)
        seen.add(key)


def check_output_folder(
    folder: PathLike, outputs: Iterable[tuple[PathLike, str]], inputs: Iterable[PathLike]
):
    """Raise :class:`OutputPathError` when an output ``(path, origin)`` lies outside ``folder``, would replace an
    input, or is the output of two jobs; ``origin`` (e.g. ``"clips.jsonl:3"``) names where the path came from."""
    root, sources, seen = Path(folder).resolve(), {file_key(path) for path in inputs}, {}
    if root.exists() and not root.is_dir():
        raise OutputPathError(f"the output folder {folder} is a file")
    check_writable_folder(root, shown=folder)
    fold = str.casefold if ignores_case(root) else str
    problems = []
    for output, origin in outputs:
        path = Path(output).resolve()
        if not path.is_relative_to(root):
            problems.append(f"{origin}: {output} would be written outside the output folder {folder}")
            continue
        if ".." in Path(output).parts:  # inside, but not where its name says (an id "../x" of a manifest)
            problems.append(f"{origin}: {output} has '..' in its name")
            continue
        key, name = file_key(path), fold(str(path))
        if key in sources:
            problems.append(f"{origin}: {output} would replace an input file")
        elif name in seen:
            problems.append(f"{origin}: {output} is also the output of {seen[name]}")
        elif path.exists() and not path.is_file():
            problems.append(f"{origin}: {output} exists and is not a regular file")
        seen[name] = origin
    if problems:
        more = f" (and {len(problems) - 1} more unsafe output(s))" if len(problems) > 1 else ""
        raise OutputPathError(f"{problems[0]}{more}: nothing done")


def ignores_case(folder: PathLike) -> bool:
    """Whether file names under ``folder`` ignore case (macOS, Windows): the nearest existing folder on its path
    whose name has letters is found again under its name with the case swapped."""
    path = Path(folder).resolve()
    while not path.exists():
        path = path.parent
    for named in (path, *path.parents):
        swapped = named.with_name(named.name.swapcase())
        if swapped.name != named.name:
            try:
                return os.path.samefile(named, swapped)
            except OSError:
                return False
    return False


def check_output_tree(folder: PathLike, inputs: Iterable[PathLike], overwrite: bool = False):
    """Raise :class:`OutputPathError` unless ``folder`` can be written as a whole: not a file, under a writable
    folder, holding none of ``inputs``, and when it holds anything, replaced only with ``overwrite``."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{folder} exists and is not a folder")
    check_writable_folder(path.resolve().parent, shown=folder)
    for source in inputs:
        if Path(source).resolve().is_relative_to(path.resolve()):
            raise OutputPathError(f"{folder} holds the input {source}: choose another output folder")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise OutputPathError(f"{folder} exists: choose another folder, or pass --overwrite to replace it")


def check_separate_folders(input_folder: PathLike, output_folder: PathLike):
    """Raise :class:`OutputPathError` when one folder holds the other (outputs would be read as inputs)."""
    source, target = Path(input_folder).resolve(), Path(output_folder).resolve()
    if source.is_relative_to(target) or target.is_relative_to(source):
        raise OutputPathError(
            f"the output folder {output_folder} and the input folder {input_folder} overlap"
        )
