"""Loading a pipeline with clear errors: model folders, hub ids, the shipped default, dtypes and devices."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from .errors import CheckpointError, UsageError

PACKAGE_DIR = Path(__file__).resolve().parent
# The repository's checkpoints/ folder: inside the package in a wheel (pyproject.toml maps the subpackage
# flowsep.checkpoints onto it), beside the package in a source checkout or an editable install.
SHIPPED_MODEL_DIRS = tuple(root / "checkpoints" / "flowsep-mini" for root in (PACKAGE_DIR, PACKAGE_DIR.parent))
DEFAULT_MODEL_DIR = next((folder for folder in SHIPPED_MODEL_DIRS if folder.is_dir()), SHIPPED_MODEL_DIRS[0])
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
REQUIRED_COMPONENTS = ("vae", "transformer", "scheduler")


def default_model() -> str:
    """The model used when none is named: ``$FLOWSEP_MODEL``, else the shipped ``checkpoints/flowsep-mini``
    (inside the installed package, or beside it in a source checkout)."""
    return os.environ.get("FLOWSEP_MODEL", str(DEFAULT_MODEL_DIR))


def resolve_device(device: str | None) -> torch.device:
    """``None``/``"auto"`` picks CUDA when present, else the CPU."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def check_model_folder(folder: Path):
    """Raise CheckpointError unless ``folder`` is a complete FlowSepPipeline folder."""
    index_file = folder / "model_index.json"
    if not index_file.is_file():
        raise CheckpointError(f"{folder} is not a flowsep model folder (no model_index.json)")
    try:
        index = json.loads(index_file.read_text())
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{index_file} is not valid JSON: {error}") from None
    if index.get("_class_name") != "FlowSepPipeline":
        raise CheckpointError(f"{folder} holds a {index.get('_class_name')!r}, not a FlowSepPipeline")
    for name in REQUIRED_COMPONENTS:
        if name not in index or not (folder / name).is_dir():
            raise CheckpointError(f"{folder} is incomplete: component {name!r} is missing")
    for name, entry in index.items():
        if isinstance(entry, list) and entry[0] is not None and not (folder / name).is_dir():
            raise CheckpointError(f"{folder} is incomplete: folder {name}/ is missing")
    if index.get("text_encoder", [None])[0] is None and not index.get("text_encoder_name"):
        raise CheckpointError(f"{folder} has no text encoder and names none (text_encoder_name)")


def load_pipeline(model: str | os.PathLike | None = None, device: str | None = None, dtype: str = "fp32"):
    """Load a FlowSepPipeline from a local folder or a hub id, with one clear error when it cannot."""
    from .pipelines import FlowSepPipeline

    model = str(model or default_model())
    if dtype not in DTYPES:
        raise UsageError(f"unknown dtype {dtype!r}: choose one of {sorted(DTYPES)}")
    folder = Path(model)
    is_local = folder.exists() or model.startswith((".", "/", "~")) or model.count("/") != 1
    if is_local:
        if not folder.exists():
            raise CheckpointError(f"model folder not found: {folder}")
        check_model_folder(folder)
    try:
        pipe = FlowSepPipeline.from_pretrained(model, torch_dtype=DTYPES[dtype])
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise CheckpointError(f"cannot load a FlowSepPipeline from {model}: {error}") from None
    return pipe.to(resolve_device(device))
