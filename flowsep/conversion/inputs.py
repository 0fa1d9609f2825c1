"""Checks of a conversion's inputs and output, made from file names and bytes before torch is imported.

:func:`checkpoint_kind` tells a PyTorch checkpoint (``torch.save``'s zip format, or its legacy pickle format)
from a plain pickle or any other file, and lists the globals its pickles name without unpickling anything
(:mod:`pickletools` reads the opcodes), so that a file that would run code when unpickled is refused at once.
"""

from __future__ import annotations

import io
import os
import pickletools
import zipfile
from pathlib import Path

from ..commands.outputs import check_output_tree
from ..errors import CheckpointError, UsageError

LEGACY_MAGIC = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")  # torch's legacy header
LEGACY_PICKLES = 5  # magic number, protocol version, system info, the object, storage keys; then raw bytes
# Globals that run code when a pickle calls them (no checkpoint of weights needs them)
CODE_MODULES = {
    "os", "posix", "nt", "subprocess", "sys", "shutil", "socket", "importlib", "runpy", "pty", "ctypes", "pickle",
    "marshal", "code", "codeop", "webbrowser", "multiprocessing", "pdb", "timeit", "commands", "asyncio",
}  # fmt: skip
CODE_BUILTINS = {
    "eval", "exec", "compile", "getattr", "setattr", "delattr", "__import__", "open", "input", "breakpoint",
    "globals", "locals", "vars",
}  # fmt: skip
TENSOR_GLOBALS = ("torch.", "collections.OrderedDict", "_codecs.encode")  # what a state dict of tensors names
STRING_OPS = {
    "SHORT_BINUNICODE",
    "BINUNICODE",
    "BINUNICODE8",
    "UNICODE",
    "SHORT_BINSTRING",
    "BINSTRING",
    "STRING",
}


def pickle_globals(stream: io.BufferedIOBase, pickles: int = 1) -> list[str]:
    """``module.name`` of every global the next ``pickles`` pickles of ``stream`` name, read from the opcodes
    (``STACK_GLOBAL`` through the strings pushed or memoised before it)."""
    names: list[str] = []
    for _ in range(pickles):
        recent, memo = [], {}
        for opcode, arg, _ in pickletools.genops(stream):
            if opcode.name in ("GLOBAL", "INST"):
                names.append(".".join(arg.split(" ", 1)))
            elif opcode.name == "STACK_GLOBAL":
                names.append(f"{recent[-2] if len(recent) > 1 else '?'}.{recent[-1] if recent else '?'}")
            elif opcode.name in STRING_OPS:
                recent.append(arg if isinstance(arg, str) else arg.decode("latin-1"))
            elif opcode.name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
                memo[len(memo) if arg is None else arg] = recent[-1] if recent else None
            elif opcode.name in ("GET", "BINGET", "LONG_BINGET"):
                recent.append(memo.get(arg))
            elif opcode.stack_after:
                recent.append(None)
    return names


def runs_code(name: str) -> bool:
    """Whether calling the global ``module.name`` can run code (``os.system``, ``builtins.eval`` ...)."""
    module, _, attribute = name.rpartition(".")
    return module.split(".")[0] in CODE_MODULES or (
        module in ("builtins", "__builtin__") and attribute in CODE_BUILTINS
    )


def checkpoint_kind(path: str | os.PathLike) -> tuple[str, list[str]]:
    """``("zip" | "legacy", globals)`` for a PyTorch checkpoint; :class:`CheckpointError` for a missing file, a
    folder, a plain pickle, any other file, and a checkpoint whose pickle names a global that runs code."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if not path.is_file():
        raise CheckpointError(f"{path} is not a file: give the checkpoint file (e.g. v2_100k.ckpt)")
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(LEGACY_MAGIC))
            if zipfile.is_zipfile(handle):
                kind, names = "zip", _zip_globals(path)
            elif head == LEGACY_MAGIC:
                handle.seek(0)
                kind, names = "legacy", pickle_globals(handle, LEGACY_PICKLES)
            else:
                kind, names = ("a plain pickle" if head[:1] == b"\x80" else "not a PyTorch checkpoint"), []
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:  # unreadable or cut short
        raise CheckpointError(f"cannot read {path} as a PyTorch checkpoint: {error}") from None
    if kind not in ("zip", "legacy"):
        raise CheckpointError(
            f"{path} is {kind}: expected a file written by torch.save (a zip archive holding data.pkl, or the "
            "legacy format)"
        )
    payload = sorted({name for name in names if runs_code(name)})
    if payload:
        raise CheckpointError(
            f"{path} names {', '.join(payload[:3])}, which run code when the file is unpickled: refused "
            "(a checkpoint of weights never needs them; even --trust-pickle does not load it)"
        )
    return kind, names


def _zip_globals(path: Path) -> list[str]:
    """The globals of a zip checkpoint's ``data.pkl``; ``ValueError`` when the archive has none."""
    with zipfile.ZipFile(path) as archive:
        pickles = [name for name in archive.namelist() if name.endswith("data.pkl")]
        if not pickles:
            raise ValueError("a zip archive, but no data.pkl in it")
        with archive.open(pickles[0]) as handle:
            return pickle_globals(io.BufferedReader(handle))


def check_text_encoder(name: str):
    """``--text-encoder``: a folder holding a config.json, or a hub id that is cached or reachable."""
    from ..loading import HUB_ID, check_hub_weights

    folder = Path(name)
    if folder.exists():
        if not (folder / "config.json").is_file():
            raise UsageError(f"--text-encoder {name}: no config.json in it (give a Flan-T5 folder or hub id)")
    elif HUB_ID.match(name) and not name.startswith((".", "/", "~")):
        check_hub_weights(name, "--text-encoder", "a folder with the Flan-T5 config and tokenizer")
    else:
        raise UsageError(f"--text-encoder {name}: folder not found (from {Path.cwd()})")


def check_conversion(
    checkpoint: str | os.PathLike, output: str | os.PathLike, text_encoder: str, trust_pickle: bool = False,
    overwrite: bool = False,
):  # fmt: skip
    """Every check of a conversion that needs no torch: the checkpoint file (see :func:`checkpoint_kind`; a
    legacy file holding objects besides tensors needs ``trust_pickle``, torch cannot skip them there), the text
    encoder, and the output folder (written as a whole, holding neither input, replaced only with ``overwrite``)."""
    kind, names = checkpoint_kind(checkpoint)
    others = sorted({name for name in names if not name.startswith(TENSOR_GLOBALS)})
    if kind == "legacy" and others and not trust_pickle:
        raise CheckpointError(
            f"{checkpoint} is a legacy (pre-zip) checkpoint holding objects besides tensors ({', '.join(others[:3])}),"
            " which torch reads only by unpickling them: pass --trust-pickle if you trust the file"
        )
    check_text_encoder(text_encoder)
    inputs = [checkpoint] + ([text_encoder] if Path(text_encoder).exists() else [])
    check_output_tree(output, inputs, overwrite)
