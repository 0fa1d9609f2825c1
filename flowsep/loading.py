"""Loading a pipeline with clear errors: model folders, hub ids, the shipped default, dtypes and devices.

The checks (:func:`check_model_folder`, :func:`check_model_source`, :func:`check_device`) read JSON and file
names only, so the command line runs them before it imports torch or loads a model.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from .choices import DTYPES as DTYPE_NAMES
from .errors import CheckpointError, UsageError

PACKAGE_DIR = Path(__file__).resolve().parent
# The repository's checkpoints/ folder: inside the package in a wheel (pyproject.toml maps the subpackage
# flowsep.checkpoints onto it), beside the package in a source checkout or an editable install.
SHIPPED_MODEL_DIRS = tuple(
    root / "checkpoints" / "flowsep-mini" for root in (PACKAGE_DIR, PACKAGE_DIR.parent)
)
DEFAULT_MODEL_DIR = next((folder for folder in SHIPPED_MODEL_DIRS if folder.is_dir()), SHIPPED_MODEL_DIRS[0])
REQUIRED_COMPONENTS = ("vae", "transformer", "scheduler")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
DEVICE = re.compile(r"^(?:auto|cpu|mps|(cuda)(?::(\d+))?)$")
MAX_DEVICE_INDEX = 1023  # torch parses device indices up to 2^31; none is that large
MAX_CONFIG_SIZE = 1 << 20  # no size in a component's config.json is larger (a guard against absurd configs)
SIZE_KEYS = re.compile(r"(channels|dim|size|layers|heads|bins|length|features)$")


def __getattr__(name: str):
    if name == "DTYPES":  # {"fp32": torch.float32, ...}, built on first use so that this module stays light
        import torch

        return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    raise AttributeError(name)


def default_model() -> str:
    """The model used when none is named: ``$FLOWSEP_MODEL``, else the shipped ``checkpoints/flowsep-mini``
    (inside the installed package, or beside it in a source checkout)."""
    return os.environ.get("FLOWSEP_MODEL", str(DEFAULT_MODEL_DIR))


def _missing_device(device: str, count: int) -> UsageError:
    found = f"{count} CUDA device(s)" if count else "no CUDA device"
    return UsageError(f"device {device!r} is not available: this machine has {found} (use cpu)")


def _visible_gpus() -> int | None:
    """GPUs the driver lists without importing torch: ``0`` on a Linux machine with neither an NVIDIA driver nor
    ROCm, the NVIDIA count (less hidden ones) where there is one, ``None`` where only torch can tell."""
    if sys.platform != "linux" or Path("/dev/kfd").exists():
        return None
    gpus = Path("/proc/driver/nvidia/gpus")
    count = len(list(gpus.iterdir())) if gpus.is_dir() else 0
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if count and visible is not None:
        count = min(
            count, len([item for item in visible.split(",") if item.strip() and item.strip() != "-1"])
        )
    return count


def check_device(device: str | None):
    """Raise :class:`UsageError` for a device name that is not ``auto``, ``cpu``, ``mps`` or ``cuda[:N]``, and for a
    device this machine lacks when that is known without importing torch (:func:`resolve_device` checks the
    rest)."""
    match = DEVICE.match(str(device)) if device is not None else None
    if device is not None and not match:
        raise UsageError(f"unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps")
    if device == "mps" and sys.platform != "darwin":
        raise UsageError(f"device {device!r} is not available on this machine (mps is Apple's; use cpu)")
    if match and match.group(1):
        index, count = int(match.group(2) or 0), _visible_gpus()
        if count is not None and index >= count:
            raise _missing_device(device, count)
        if index > MAX_DEVICE_INDEX:
            raise UsageError(f"device {device!r} is not available: no machine has {index + 1} GPUs (use cpu)")


def resolve_device(device: str | None):
    """``None``/``"auto"`` picks CUDA when present, else the CPU; a named device must exist on this machine."""
    import torch

    check_device(device)
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (resolved.index or 0) >= count:
            raise _missing_device(device, count)
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise UsageError(f"device {device!r} is not available on this machine (use cpu)")
    return resolved


def _check_weights(folder: Path, name: str):
    """A component folder must hold safetensors weights when it holds weights at all (no unpickling)."""
    files = [path.name for path in folder.iterdir() if path.is_file()]
    pickles = [file for file in files if file.endswith(PICKLE_SUFFIXES)]
    if pickles and not any(file.endswith(".safetensors") for file in files):
        raise CheckpointError(
            f"{folder} holds pickled weights ({pickles[0]}) and no .safetensors: flowsep loads safetensors only "
            f"(re-save the {name} with save_pretrained(..., safe_serialization=True))"
        )


def _check_sizes(config_file: Path):
    """Refuse a config.json whose sizes are absurd (negative, or larger than any model could be)."""
    try:
        config = json.loads(config_file.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{config_file} is not valid JSON: {error}") from None
    for key, value in config.items():
        values = value if isinstance(value, list) else [value]
        if not SIZE_KEYS.search(key) or not all(type(item) is int for item in values):
            continue
        if any(item < 0 or item > MAX_CONFIG_SIZE for item in values):
            raise CheckpointError(f"{config_file}: {key} = {value} is out of range (0 to {MAX_CONFIG_SIZE})")


def read_model_index(folder: Path) -> dict:
    """The ``model_index.json`` of a FlowSepPipeline folder; :class:`CheckpointError` when it is not one."""
    index_file = folder / "model_index.json"
    if not index_file.is_file():
        raise CheckpointError(f"{folder} is not a flowsep model folder (no model_index.json)")
    try:
        index = json.loads(index_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{index_file} is not valid JSON: {error}") from None
    if not isinstance(index, dict) or index.get("_class_name") != "FlowSepPipeline":
        found = index.get("_class_name") if isinstance(index, dict) else type(index).__name__
        raise CheckpointError(f"{folder} holds a {found!r}, not a FlowSepPipeline")
    return index


def check_model_folder(folder: Path) -> dict:
    """Raise CheckpointError unless ``folder`` is a complete FlowSepPipeline folder with safetensors weights and
    sane sizes; returns its ``model_index.json``."""
    folder = Path(folder)
    index = read_model_index(folder)
    for name in REQUIRED_COMPONENTS:
        if name not in index or not (folder / name).is_dir():
            raise CheckpointError(f"{folder} is incomplete: component {name!r} is missing")
    for name, entry in index.items():
        if isinstance(entry, list) and entry and entry[0] is not None:
            if not (folder / name).is_dir():
                raise CheckpointError(f"{folder} is incomplete: folder {name}/ is missing")
            _check_weights(folder / name, name)
            if (folder / name / "config.json").is_file():
                _check_sizes(folder / name / "config.json")
    encoder_name = index.get("text_encoder_name")
    if index.get("text_encoder", [None])[0] is None:
        if not encoder_name:
            raise CheckpointError(f"{folder} has no text encoder and names none (text_encoder_name)")
        if Path(encoder_name).is_dir():
            _check_weights(Path(encoder_name), "text encoder")
    return index


def model_has_vocoder(model: str | os.PathLike | None) -> bool | None:
    """Whether a local model folder holds a vocoder (``None`` for a hub id: not known before loading)."""
    folder = Path(model or default_model())
    if not (folder / "model_index.json").is_file():
        return None
    return read_model_index(folder).get("vocoder", [None])[0] is not None


def model_scheduler_class(model: str | os.PathLike | None) -> str | None:
    """The scheduler class a local model folder names (``None`` for a hub id: not known before loading)."""
    folder = Path(model or default_model())
    if not (folder / "model_index.json").is_file():
        return None
    return read_model_index(folder).get("scheduler", [None, None])[1]


def _hub_cached(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, "model_index.json"), str)
    except Exception:  # a malformed id, an unreadable cache: not cached
        return False


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers a TCP connection within ``timeout`` seconds (never when
    ``HF_HUB_OFFLINE`` is set)."""
    import socket
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on"):
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def check_hub_weights(name: str, flag: str, folder_kind: str, filename: str = "config.json"):
    """Raise :class:`UsageError` when ``name`` is a hub id that is neither cached nor reachable (no network),
    in seconds, instead of the hub client's minutes of retries; a local folder passes."""
    if Path(name).is_dir():
        return
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = isinstance(try_to_load_from_cache(name, filename), str)
    except Exception:
        cached = False
    if not cached and not hub_reachable():
        raise UsageError(
            f"{name} is not in the Hugging Face cache and the hub cannot be reached (offline): pass {flag} with "
            f"{folder_kind}, or download it once with network access"
        )


def check_model_source(model: str | os.PathLike) -> bool:
    """Check what ``model`` names before anything loads: a local folder is checked with
    :func:`check_model_folder`; a name that is not an existing folder must look like a hub id (``owner/name``)
    and be in the hub cache or reachable (so that a mistyped relative folder fails at once, not after the hub
    client's retries). Returns whether it is local."""
    name, folder = str(model), Path(model)
    if folder.exists():
        check_model_folder(folder)
        return True
    looks_remote = HUB_ID.match(name) and not name.startswith((".", "/", "~"))
    if not looks_remote or not (_hub_cached(name) or hub_reachable()):
        hint = " (not in the hub cache, and the hub cannot be reached)" if looks_remote else ""
        raise CheckpointError(f"model folder not found: {name} (from {Path.cwd()}){hint}")
    return False


def dtype_argument(dtype: str) -> dict:
    """``{"dtype": ...}`` for diffusers that has `_resolve_dtype` (and warns on `torch_dtype`), else
    ``{"torch_dtype": ...}``."""
    from diffusers.utils import deprecation_utils

    key = "dtype" if hasattr(deprecation_utils, "_resolve_dtype") else "torch_dtype"
    return {key: __getattr__("DTYPES")[dtype]}


def load_pipeline(model: str | os.PathLike | None = None, device: str | None = None, dtype: str = "fp32"):
    """Load a FlowSepPipeline from a local folder or a hub id, with one clear error when it cannot.

    Args:
        model: a model folder or hub id; default: :func:`default_model` (the shipped flowsep-mini).
        device: ``"auto"`` (default), ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ...
        dtype: ``"fp32"``, ``"fp16"`` or ``"bf16"``.
    """
    if dtype not in DTYPE_NAMES:
        raise UsageError(f"unknown dtype {dtype!r}: choose one of {list(DTYPE_NAMES)}")
    model = str(model or default_model())
    check_model_source(model)
    target = resolve_device(device)
    from .pipelines import FlowSepPipeline

    try:
        pipe = FlowSepPipeline.from_pretrained(model, use_safetensors=True, **dtype_argument(dtype))
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise CheckpointError(f"cannot load a FlowSepPipeline from {model}: {error}") from None
    return pipe.to(target)
