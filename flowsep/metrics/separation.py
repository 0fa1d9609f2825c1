"""Signal-level separation metrics: SI-SDR, SDR and their improvements over the mixture, in dB.

The values come from torchmetrics (SI-SDR: Le Roux et al. 2019; SDR: the BSS-eval v4 definition with a
512-tap distortion filter, as in fast_bss_eval), computed in float64, with these conventions:

* a **silent reference** (mean power below :data:`SILENCE_POWER`) leaves the metric undefined: ``NaN``,
  counted by :func:`evaluate_separation` and left out of its averages;
* a **silent estimate** of a non-silent reference scores the floor ``-SDR_CEILING_DB``;
* a **perfect estimate** (``+inf`` in exact arithmetic) is clipped to the ceiling :data:`SDR_CEILING_DB`;
  an estimate equal to the reference up to float32 rounding (about 140 dB) reaches it;
* an **improvement** is ``metric(estimate, reference) - metric(mixture, reference)``.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio, signal_distortion_ratio

from ..errors import AudioInputError
from .summary import Summary, summarize

SDR_CEILING_DB = 100.0
SILENCE_POWER = 1e-10  # mean square, i.e. -100 dB re full scale


def _pair(estimate, reference) -> tuple[torch.Tensor, torch.Tensor]:
    """Both signals as float64 tensors of one shape ``(..., T)``."""
    estimate = torch.as_tensor(estimate).detach().cpu().double()
    reference = torch.as_tensor(reference).detach().cpu().double()
    if estimate.shape != reference.shape or estimate.ndim == 0 or estimate.shape[-1] == 0:
        raise AudioInputError(
            f"estimate and reference must share a non-empty shape (..., samples), "
            f"got {tuple(estimate.shape)} and {tuple(reference.shape)}"
        )
    return estimate, reference


def is_silent(wave: torch.Tensor) -> torch.Tensor:
    """Whether each signal is silent: ``(..., T) -> (...)`` bool."""
    return wave.pow(2).mean(dim=-1) < SILENCE_POWER


def _apply_conventions(values: torch.Tensor, estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Clip to +-ceiling, floor silent estimates, NaN silent references. All ``(...)``."""
    values = values.clamp(-SDR_CEILING_DB, SDR_CEILING_DB)
    values = torch.where(is_silent(estimate), torch.full_like(values, -SDR_CEILING_DB), values)
    return torch.where(is_silent(reference), torch.full_like(values, float("nan")), values)


def si_sdr(estimate, reference) -> torch.Tensor:
    """Scale-invariant SDR in dB: ``(..., T), (..., T) -> (...)`` float64."""
    estimate, reference = _pair(estimate, reference)
    return _apply_conventions(
        scale_invariant_signal_distortion_ratio(estimate, reference), estimate, reference
    )


@contextmanager
def _one_thread():
    """Run the filter solves on one thread: with several, MKL's batched LU (torch 2.13) can fail inside LAPACK
    ("DLASWP") and hang; one thread is also faster for these small systems."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def sdr(estimate, reference, filter_length: int = 512) -> torch.Tensor:
    """SDR (BSS-eval v4, distortion filter of ``filter_length`` taps) in dB: ``(..., T), (..., T) -> (...)``.

    Items whose reference autocorrelation is singular (e.g. a pure tone) are ``NaN``.
    """
    estimate, reference = _pair(estimate, reference)
    flat_est = estimate.reshape(-1, estimate.shape[-1])  # (N, T)
    flat_ref = reference.reshape(-1, reference.shape[-1])  # (N, T)
    values = torch.full((flat_est.shape[0],), float("nan"), dtype=torch.float64)  # (N,)
    audible = torch.nonzero(~is_silent(flat_ref)).flatten()
    with _one_thread():
        try:  # one batched solve; a singular item makes it fail, and then items are solved one by one
            values[audible] = signal_distortion_ratio(
                flat_est[audible], flat_ref[audible], filter_length=filter_length
            ).double()
        except (torch.linalg.LinAlgError, RuntimeError):  # batched LU reports a singular item as RuntimeError
            for i in audible.tolist():
                try:
                    values[i] = signal_distortion_ratio(flat_est[i], flat_ref[i], filter_length=filter_length)
                except torch.linalg.LinAlgError:
                    pass
    values = values.reshape(estimate.shape[:-1])
    # An exact estimate can push the coherence past 1 by rounding (NaN); a ceiling SI-SDR identifies it.
    perfect = values.isnan() & (si_sdr(estimate, reference) >= SDR_CEILING_DB)
    values = torch.where(perfect, torch.full_like(values, SDR_CEILING_DB), values)
    return _apply_conventions(values, estimate, reference)


def si_sdr_improvement(estimate, reference, mixture) -> torch.Tensor:
    """SI-SDRi in dB: ``si_sdr(estimate, reference) - si_sdr(mixture, reference)``, shapes ``(..., T) -> (...)``."""
    return si_sdr(estimate, reference) - si_sdr(mixture, reference)


def sdr_improvement(estimate, reference, mixture, filter_length: int = 512) -> torch.Tensor:
    """SDRi in dB: ``sdr(estimate, reference) - sdr(mixture, reference)``, shapes ``(..., T) -> (...)``."""
    return sdr(estimate, reference, filter_length) - sdr(mixture, reference, filter_length)


@dataclass
class SeparationScores:
    """Per-item scores ``(N,)`` and their summaries, keyed by metric name (``si_sdr``, ``sdr``, ``si_sdri``, ``sdri``)."""

    per_item: dict[str, np.ndarray]
    summary: dict[str, Summary]
    n_silent_references: int
    n_silent_estimates: int


def evaluate_separation(estimates, references, mixtures=None, with_sdr: bool = True) -> SeparationScores:
    """Score a batch of separated signals against their references.

    Args:
        estimates: separated signals ``(N, T)`` (tensor or array).
        references: ground-truth sources ``(N, T)``.
        mixtures: the input mixtures ``(N, T)``; when given, SI-SDRi (and SDRi) are added.
        with_sdr: also compute SDR/SDRi (slower: one filter solve per item).
    """
    estimates, references = _pair(estimates, references)
    metrics = {"si_sdr": si_sdr} | ({"sdr": sdr} if with_sdr else {})
    per_item = {}
    for name, metric in metrics.items():
        per_item[name] = metric(estimates, references)  # (N,)
        if mixtures is not None:
            per_item[f"{name}i"] = per_item[name] - metric(mixtures, references)
    per_item = {name: values.numpy() for name, values in per_item.items()}
    return SeparationScores(
        per_item=per_item,
        summary={name: summarize(values) for name, values in per_item.items()},
        n_silent_references=int(is_silent(references).sum()),
        n_silent_estimates=int((is_silent(estimates) & ~is_silent(references)).sum()),
    )
