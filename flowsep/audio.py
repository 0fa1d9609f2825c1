"""Audio I/O and signal math: reading any input, resampling, the channel policy, loudness and SNR.

Every entry point of flowsep reads audio through :func:`load_audio`, so the input contract lives here:

* sources: a path to a wav/flac/ogg file (anything soundfile reads), a numpy array or a torch tensor;
  arrays and tensors need their ``sample_rate``;
* shapes: ``(samples,)`` or ``(channels, samples)``; a 2-D array whose second axis is the short one
  (at most 16 channels, as :func:`soundfile.read` returns it) is read as ``(samples, channels)``; one of at most
  16 rows that could be either is read as ``(channels, samples)`` with a warning when it has more rows than
  columns;
* channel policy: multichannel audio is **down-mixed to mono by averaging the channels** (the model is mono);
* integer arrays are scaled to [-1, 1] by their dtype's range;
* any sample rate is resampled with soxr (high quality) to the model's rate;
* empty audio, NaN/Inf samples, unreadable or missing files raise :class:`~flowsep.errors.AudioInputError`.
"""

from __future__ import annotations

import math
import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np
import soundfile as sf

from .errors import AudioInputError

if TYPE_CHECKING:
    import torch

# torch is imported where it is used, so that reading and checking files (the command line) stays light
AudioSource = Union[str, os.PathLike, np.ndarray, "torch.Tensor"]

MAX_CHANNELS = 16
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")  # what a folder scan takes for audio files


def _to_channels_first(array: np.ndarray, name: str) -> np.ndarray:
    """Return a float32 array shaped (channels, samples) from a 1-D or 2-D array."""
    if array.ndim == 1:
        array = array[None, :]
    elif array.ndim == 2:
        if array.shape[1] <= MAX_CHANNELS < array.shape[0]:
            array = array.T  # (samples, channels), as soundfile returns it
        elif (
            array.shape[1] < array.shape[0] <= MAX_CHANNELS
        ):  # either way round: the convention decides, aloud
            warnings.warn(
                f"{name}: shape {tuple(array.shape)} is read as (channels, samples), {array.shape[0]} channels of "
                f"{array.shape[1]} samples; transpose it if it is (samples, channels)",
                stacklevel=3,
            )
        elif min(array.shape) > MAX_CHANNELS:
            raise AudioInputError(
                f"{name}: shape {tuple(array.shape)} has more than {MAX_CHANNELS} channels either way: "
                "give (samples,) or (channels, samples)"
            )
    else:
        raise AudioInputError(
            f"{name}: expected shape (samples,) or (channels, samples), got {tuple(array.shape)}"
        )
    if np.issubdtype(array.dtype, np.unsignedinteger):  # offset binary (8-bit wav): centred on 2^(bits-1)
        middle = float(np.iinfo(array.dtype).max // 2 + 1)
        array = (array.astype(np.float64) - middle).astype(np.float32) / middle
    elif np.issubdtype(array.dtype, np.integer):
        array = array.astype(np.float32) / float(np.iinfo(array.dtype).max)
    elif np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32, copy=False)
    else:
        raise AudioInputError(f"{name}: samples must be numbers, got dtype {array.dtype}")
    return array


def read_audio_file(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read a file with soundfile. Returns ``(channels, samples)`` float32 and its sample rate."""
    path = Path(path)
    if not path.exists():
        raise AudioInputError(f"audio file not found: {path}")
    if path.is_dir():
        raise AudioInputError(f"expected an audio file, got a folder: {path}")
    try:
        data, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)  # (T, C)
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        raise AudioInputError(f"cannot read audio file {path}: {error}") from None
    return np.ascontiguousarray(data.T), int(sample_rate)


def resample(wave: np.ndarray, orig_sample_rate: int, target_sample_rate: int) -> np.ndarray:
    """Resample ``(channels, samples)`` float32 audio with soxr's high-quality filter."""
    if orig_sample_rate == target_sample_rate:
        return wave
    import soxr

    out = soxr.resample(wave.T, orig_sample_rate, target_sample_rate, quality="HQ")  # (T', C)
    return np.ascontiguousarray(np.asarray(out, dtype=np.float32).reshape(-1, wave.shape[0]).T)


def read_audio(
    source: AudioSource, sample_rate: int | None = None, name: str = "audio"
) -> tuple[np.ndarray, int]:
    """Read and check any supported source, keeping its channels and rate: ``((channels, samples) float32, rate)``.

    Raises :class:`~flowsep.errors.AudioInputError` for a missing or unreadable file, a wrong shape, type or
    rate, empty audio, or NaN/Inf samples.
    """
    if isinstance(source, (str, os.PathLike)):
        wave, sample_rate = read_audio_file(source)
        name = str(source)
    elif isinstance(source, np.ndarray) or type(source).__module__.split(".")[0] == "torch":
        if sample_rate is None:
            raise AudioInputError(f"{name}: an array or tensor needs its sample_rate")
        array = source.detach().cpu().float().numpy() if hasattr(source, "detach") else source
        wave = _to_channels_first(np.asarray(array), name)
    else:
        raise AudioInputError(
            f"{name}: expected a file path, numpy array or torch tensor, got {type(source).__name__}"
        )
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise AudioInputError(f"{name}: sample_rate must be a positive integer, got {sample_rate!r}")
    if wave.shape[-1] == 0 or wave.shape[0] == 0:
        raise AudioInputError(f"{name}: the audio is empty (zero samples)")
    if not np.isfinite(wave).all():
        raise AudioInputError(f"{name}: the audio contains NaN or Inf samples")
    return wave, int(sample_rate)


def to_mono(wave: np.ndarray, sample_rate: int, target_sample_rate: int) -> np.ndarray:
    """``(channels, samples)`` -> mono ``(samples,)`` at ``target_sample_rate``: the channel policy (average)."""
    mono = wave.mean(axis=0, keepdims=True)  # (1, T)
    return np.ascontiguousarray(resample(mono, sample_rate, target_sample_rate)[0])


def load_audio(
    source: AudioSource,
    sample_rate: int | None = None,
    target_sample_rate: int = 16000,
    name: str = "audio",
) -> torch.Tensor:
    """Read any supported source as mono float32 at ``target_sample_rate``.

    Args:
        source: file path, numpy array or torch tensor, shaped ``(samples,)`` or ``(channels, samples)``.
        sample_rate: the rate of an array or tensor (ignored for files, which carry their own).
        target_sample_rate: the rate to resample to.
        name: how the input is called in error messages.

    Returns:
        Tensor of shape ``(samples,)``, float32, on the CPU.
    """
    import torch

    wave, sample_rate = read_audio(source, sample_rate, name)
    return torch.from_numpy(to_mono(wave, sample_rate, target_sample_rate))


def save_audio(
    path: str | os.PathLike, wave: torch.Tensor | np.ndarray, sample_rate: int, subtype: str | None = None
):
    """Write audio ``(samples,)`` or ``(channels, samples)`` atomically: into a temporary file beside ``path``,
    then renamed over it.

    A crash or a full disk never leaves a half-written file at ``path``. Samples beyond [-1, 1] are clipped
    with a warning (integer formats cannot hold them).
    """
    path = Path(path)
    data = wave.detach().cpu().float().numpy() if hasattr(wave, "detach") else np.asarray(wave, np.float32)
    data = data.T if data.ndim == 2 else data.reshape(-1)  # soundfile takes (samples, channels)
    peak = float(np.abs(data).max()) if data.size else 0.0
    if peak > 1.0 and subtype not in ("FLOAT", "DOUBLE"):
        warnings.warn(f"{path}: peak {peak:.2f} > 1, clipping", stacklevel=2)
        data = np.clip(data, -1.0, 1.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    file_format = path.suffix.lstrip(".").upper() or "WAV"
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(handle)
    try:
        sf.write(tmp, data, sample_rate, subtype=subtype, format=file_format)
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str):
    """Write a text file atomically (temporary file beside it, then renamed over it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def rms(wave: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Root mean square over the last axis: ``(..., T) -> (...)``."""
    return wave.pow(2).mean(dim=-1).add(eps).sqrt()


def scale_to_snr(
    target: torch.Tensor, interferer: torch.Tensor, snr_db: float | torch.Tensor
) -> torch.Tensor:
    """Scale ``interferer`` so that ``10 log10(P_target / P_interferer) == snr_db``. Shapes ``(..., T)``."""
    import torch

    snr_db = torch.as_tensor(snr_db, dtype=target.dtype, device=target.device)
    gain = rms(target) / (rms(interferer) * torch.pow(10.0, snr_db / 20.0))
    return interferer * gain.unsqueeze(-1)


def snr_db(target: torch.Tensor, interferer: torch.Tensor) -> torch.Tensor:
    """Signal-to-noise ratio in dB between two signals: ``(..., T) -> (...)``."""
    import torch

    return 20.0 * torch.log10(rms(target) / rms(interferer))


def loudness_lufs(wave: np.ndarray | torch.Tensor, sample_rate: int) -> float:
    """Integrated loudness (ITU-R BS.1770-4, via pyloudnorm) of mono audio; ``-inf`` for silence."""
    import pyloudnorm

    data = wave.detach().cpu().double().numpy() if hasattr(wave, "detach") else np.asarray(wave, np.float64)
    data = data.reshape(-1)
    min_len = int(0.4 * sample_rate) + 1  # one gating block
    if data.size < min_len:
        data = np.pad(data, (0, min_len - data.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = pyloudnorm.Meter(sample_rate).integrated_loudness(data)
    return float(value) if math.isfinite(value) else -math.inf


def loudness_gain(wave: np.ndarray | torch.Tensor, sample_rate: int, target_lufs: float) -> float:
    """The gain that brings ``wave`` to ``target_lufs``; 1 for silence."""
    current = loudness_lufs(wave, sample_rate)
    return 10.0 ** ((target_lufs - current) / 20.0) if math.isfinite(current) else 1.0


def normalize_loudness(wave: torch.Tensor, sample_rate: int, target_lufs: float) -> torch.Tensor:
    """Apply the gain that brings ``wave`` to ``target_lufs``; silence is returned unchanged."""
    return wave * loudness_gain(wave, sample_rate, target_lufs)


def normalize_mixture(wave: torch.Tensor, reference_rms: float = 0.1, max_peak: float = 0.99):
    """Gain that brings a mixture ``(..., T)`` to ``reference_rms``, lowered so the peak stays under ``max_peak``.

    Training and inference both call this, so the model always sees mixtures at the same level.
    Returns ``(scaled, gain)`` with ``gain`` shaped ``(..., 1)``; silence gets gain 1.
    """
    import torch

    level = rms(wave, eps=0.0).unsqueeze(-1)
    peak = wave.abs().amax(dim=-1, keepdim=True)
    gain = torch.where(level > 1e-8, reference_rms / level.clamp(min=1e-8), torch.ones_like(level))
    gain = torch.minimum(gain, max_peak / peak.clamp(min=1e-8))
    return wave * gain, gain


def normalize_peak(wave: torch.Tensor, reference_peak: float = 0.5):
    """The official FlowSep level: a mixture ``(..., T)`` less its mean, scaled so that its peak is
    ``reference_peak`` (divided by ``peak + 1e-8``). Returns ``(scaled, gain)`` with ``gain`` shaped ``(..., 1)``;
    silence gets gain 1."""
    import torch

    centred = wave - wave.mean(dim=-1, keepdim=True)
    peak = centred.abs().amax(dim=-1, keepdim=True)
    gain = torch.where(peak > 0, reference_peak / (peak + 1e-8), torch.ones_like(peak))
    return centred * gain, gain
