"""Fréchet Audio Distance (FAD) between a reference set and an evaluated set of clips.

Embeddings come from the backbones of the ``frechet-audio-distance`` package (``pip install 'flowsep[eval]'``):

=========  ===========  ================================================  =====================
backbone   sample rate  weights expected under ``ckpt_dir``               embedding per clip
=========  ===========  ================================================  =====================
vggish     16 kHz       torch-hub repo ``harritaylor_torchvggish_*`` and  (frames, 128)
                        ``checkpoints/vggish-10086976.pth`` (+ PCA file)
pann       16 kHz       ``Cnn14_16k_mAP%3D0.438.pth``                     (1, 2048)
clap       48 kHz       ``630k-audioset-best.pt``                         (1, 512)
encodec    24 kHz       ``checkpoints/encodec_24khz-d7cc33bc.th``         (frames, 128)
=========  ===========  ================================================  =====================

``ckpt_dir`` defaults to torch-hub's folder (``$TORCH_HOME/hub``). Missing weights raise
:class:`~flowsep.errors.CheckpointError` at once, before anything reaches for the network. The package is imported
lazily: at import time it loads the bert-base-uncased, roberta-base and facebook/bart-base tokenizers (through
laion_clap) from the Hugging Face cache, or the hub when online, and it needs torchaudio and torchvision matching
torch. Embeddings of a set can be cached in a ``.npy`` file and are then reused without loading any backbone.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy import linalg

from ..audio import AUDIO_SUFFIXES, AudioSource, load_audio
from ..errors import AudioInputError, CheckpointError

BACKBONE_SAMPLE_RATES = {"vggish": 16000, "pann": 16000, "clap": 48000, "encodec": 24000}
AudioSet = str | os.PathLike | Sequence[AudioSource]


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2): ``(D,), (D, D), (D,), (D, D) -> float``.

    ``||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))``. A singular product is regularized by adding
    ``eps`` to both diagonals; the imaginary part that sqrtm leaves by rounding is dropped (an error if large).
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = (
        np.atleast_2d(np.asarray(sigma1, np.float64)),
        np.atleast_2d(np.asarray(sigma2, np.float64)),
    )
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise ValueError(
            f"mismatched Gaussians: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}"
        )
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = eps * np.eye(mu1.shape[0])
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0.0, atol=1e-3):
            raise ValueError(f"sqrtm has a large imaginary part ({np.abs(covmean.imag).max():.3g})")
        covmean = covmean.real
    diff = mu1 - mu2
    distance = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean)
    return max(float(distance), 0.0)  # rounding can leave a tiny negative for identical sets


def embedding_statistics(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and covariance ``(D, D)`` of embeddings ``(N, D)``, N >= 2."""
    embeddings = np.asarray(embeddings, np.float64)
    if embeddings.ndim != 2 or embeddings.shape[0] < 2:
        raise ValueError(f"need embeddings shaped (N >= 2, D), got {embeddings.shape}")
    return embeddings.mean(axis=0), np.cov(embeddings, rowvar=False)


def frechet_distance_from_embeddings(embeddings1: np.ndarray, embeddings2: np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted to two embedding sets ``(N1, D)`` and ``(N2, D)``."""
    return frechet_distance(*embedding_statistics(embeddings1), *embedding_statistics(embeddings2))


def _list_audio(audio: AudioSet) -> list[AudioSource]:
    """The clips of a set: a folder's audio files (sorted) or the given sequence."""
    if isinstance(audio, (str, os.PathLike)):
        folder = Path(audio)
        if not folder.is_dir():
            raise AudioInputError(f"expected a folder of audio files: {folder}")
        clips = sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    else:
        clips = list(audio)
    if not clips:
        raise AudioInputError(f"no audio clips in {audio}")
    return clips


def _save_npy(path: Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` through a temporary file, so that a crash never leaves half a cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    with os.fdopen(handle, "wb") as file:
        np.save(file, array)
    os.replace(tmp, path)


@dataclass
class FADResult:
    """A FAD value, the backbone that produced it (values from different backbones are not comparable) and the
    number of embedding rows in each set."""

    value: float
    backbone: str
    n_reference: int
    n_estimate: int


class FrechetAudioDistance:
    """FAD with one backbone of the ``frechet-audio-distance`` package, loaded on first use.

    Args:
        backbone: ``"vggish"``, ``"pann"``, ``"clap"`` or ``"encodec"``.
        ckpt_dir: folder holding the backbone's weights (default: torch-hub's folder).
    """

    def __init__(self, backbone: str = "vggish", ckpt_dir: str | os.PathLike | None = None):
        if backbone not in BACKBONE_SAMPLE_RATES:
            raise ValueError(
                f"unknown FAD backbone {backbone!r}; choose one of {sorted(BACKBONE_SAMPLE_RATES)}"
            )
        self.backbone = backbone
        self.sample_rate = BACKBONE_SAMPLE_RATES[backbone]
        self.ckpt_dir = Path(ckpt_dir if ckpt_dir is not None else torch.hub.get_dir())
        self._model = None

    def missing_weights(self) -> list[Path]:
        """The weight files (or cached repository) of the backbone that are not under ``ckpt_dir``."""
        hub = self.ckpt_dir / "checkpoints"
        expected = {
            "pann": [self.ckpt_dir / "Cnn14_16k_mAP%3D0.438.pth"],
            "clap": [self.ckpt_dir / "630k-audioset-best.pt"],
            "encodec": [hub / "encodec_24khz-d7cc33bc.th"],
            "vggish": [hub / "vggish-10086976.pth", hub / "vggish_pca_params-970ea276.pth"],
        }[self.backbone]
        missing = [path for path in expected if not path.is_file()]
        repos = [self.ckpt_dir / f"harritaylor_torchvggish_{branch}" for branch in ("main", "master")]
        if self.backbone == "vggish" and not any(repo.is_dir() for repo in repos):
            missing.append(repos[-1])
        return missing

    def _load(self):
        """Build the package's scorer: weights are checked first, the package imported only then."""
        missing = self.missing_weights()
        if missing:
            raise CheckpointError(
                f"FAD backbone {self.backbone!r}: weights not found: {', '.join(map(str, missing))}. "
                f"Run once with network access to download them into {self.ckpt_dir}, or pass ckpt_dir=<folder>."
            )
        try:
            from frechet_audio_distance import FrechetAudioDistance as PackageFAD
        except ImportError as error:
            raise ImportError(
                f"FAD needs the frechet-audio-distance package (pip install 'flowsep[eval]') with torchaudio and "
                f"torchvision built for torch {torch.__version__}: {error}"
            ) from error
        except OSError as error:
            raise CheckpointError(
                "frechet-audio-distance (through laion_clap) loads the bert-base-uncased, roberta-base and "
                f"facebook/bart-base tokenizers from the Hugging Face cache at import time: {error}"
            ) from error
        hub_dir = torch.hub.get_dir()
        try:  # the package points torch-hub at ckpt_dir for good: put it back
            return PackageFAD(
                ckpt_dir=str(self.ckpt_dir), model_name=self.backbone, sample_rate=self.sample_rate
            )
        except OSError as error:
            raise CheckpointError(
                f"FAD backbone {self.backbone!r} failed to load from {self.ckpt_dir}: {error}"
            ) from error
        finally:
            torch.hub.set_dir(hub_dir)

    def embed(
        self, audio: AudioSet, sample_rate: int | None = None, cache: str | os.PathLike | None = None
    ) -> np.ndarray:
        """Embeddings ``(rows, D)`` of a set of clips, stacked clip after clip.

        Args:
            audio: a folder of audio files, or a sequence of paths / arrays / tensors (any rate, mono or not).
            sample_rate: the rate of arrays and tensors in ``audio``.
            cache: a ``.npy`` file; read when it exists (no backbone is loaded and ``audio`` may be ``None``),
                written after computing otherwise.
        """
        if cache is not None and Path(cache).is_file():
            return np.load(cache)
        if self._model is None:
            self._model = self._load()
        rows = []
        for index, clip in enumerate(_list_audio(audio)):
            wave = load_audio(clip, sample_rate, self.sample_rate, name=f"clip {index}").numpy()  # (T,)
            try:
                rows.append(np.atleast_2d(self._model.get_embeddings([wave], sr=self.sample_rate)))
            except ValueError as error:  # the package prints the cause and returns nothing
                raise RuntimeError(f"{self.backbone} embedding failed on clip {index}: {error}") from error
        embeddings = np.concatenate(rows, axis=0).astype(np.float32)  # (rows, D)
        if cache is not None:
            _save_npy(Path(cache), embeddings)
        return embeddings

    def score(
        self,
        reference: AudioSet,
        estimate: AudioSet,
        sample_rate: int | None = None,
        reference_cache: str | os.PathLike | None = None,
        estimate_cache: str | os.PathLike | None = None,
    ) -> FADResult:
        """FAD between the reference set (e.g. the clean sources) and the evaluated set (e.g. separated outputs)."""
        reference_embeddings = self.embed(reference, sample_rate, reference_cache)
        estimate_embeddings = self.embed(estimate, sample_rate, estimate_cache)
        return FADResult(
            value=frechet_distance_from_embeddings(reference_embeddings, estimate_embeddings),
            backbone=self.backbone,
            n_reference=len(reference_embeddings),
            n_estimate=len(estimate_embeddings),
        )
