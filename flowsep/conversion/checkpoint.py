"""Reading a PyTorch Lightning checkpoint without unpickling arbitrary objects.

``torch.load(weights_only=True)`` refuses any object that is not a tensor or a plain container. A Lightning
checkpoint usually holds such objects beside the weights (its hyper-parameters, callbacks' states, loop
states). :func:`read_state_dict` then asks torch which globals the file names and lets the weights-only
unpickler build inert placeholders for them: nothing from the file is imported or run, and only the
``state_dict`` entry is returned. ``trust_pickle=True`` unpickles everything (only for files you trust).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch

from ..errors import CheckpointError


class _Placeholder:
    """Stands in for an object the checkpoint names but flowsep does not need; accepts and keeps nothing."""

    def __new__(cls, *args, **kwargs):
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass

    def __call__(self, *args, **kwargs):
        return _Placeholder()


def _placeholders(names: list[str]) -> list[tuple[type, str]]:
    """One inert class per global name, registered under that name for the weights-only unpickler."""
    return [(type(name.rsplit(".", 1)[-1], (_Placeholder,), {}), name) for name in names]


def _load(path: Path, **kwargs):
    try:
        return torch.load(path, map_location="cpu", mmap=True, **kwargs)
    except RuntimeError as error:  # legacy (non-zip) files cannot be memory-mapped
        if "mmap" not in str(error):
            raise
        return torch.load(path, map_location="cpu", **kwargs)


def read_state_dict(path: str | os.PathLike, trust_pickle: bool = False) -> tuple[dict, list[str]]:
    """The checkpoint's tensors ``{name: tensor}`` (memory-mapped where the format allows) and notes on how
    they were read. A plain state dict file is returned as it is; a Lightning file's ``state_dict`` entry."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    notes = []
    if trust_pickle:
        checkpoint = _load(path, weights_only=False)
        notes.append("read with full unpickling (--trust-pickle)")
    else:
        try:
            checkpoint = _load(path, weights_only=True)
        except pickle.UnpicklingError as error:
            if not hasattr(torch.serialization, "get_unsafe_globals_in_checkpoint"):
                raise CheckpointError(
                    f"{path} holds objects besides tensors and this torch cannot skip them ({error}); "
                    "upgrade torch, or pass --trust-pickle if you trust the file"
                ) from None
            try:
                names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
            except (RuntimeError, ValueError) as listing:  # a legacy (non-zip) file: torch cannot list them
                raise CheckpointError(
                    f"{path} holds objects besides tensors that torch cannot skip in this format ({listing}); "
                    "pass --trust-pickle if you trust the file"
                ) from None
            with torch.serialization.safe_globals(_placeholders(names)):
                checkpoint = _load(path, weights_only=True)
            notes.append(
                f"weights_only refused {len(names)} non-tensor object type(s) in the file ({', '.join(names[:5])}"
                f"{', ...' if len(names) > 5 else ''}): they were read as inert placeholders, not imported or run; "
                "only 'state_dict' is used"
            )
        except (OSError, RuntimeError, EOFError) as error:
            raise CheckpointError(f"cannot read {path} as a PyTorch checkpoint: {error}") from None
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict):
        checkpoint = checkpoint["state_dict"]
    if not isinstance(checkpoint, dict) or not all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise CheckpointError(f"{path} holds no state dict of tensors")
    return checkpoint, notes
