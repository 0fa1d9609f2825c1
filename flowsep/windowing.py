"""Any-length audio: fixed windows with overlap, recombined by weighted overlap-add.

Windows are placed on a grid of ``unit`` samples (one latent frame), so the same plan recombines
waveforms, mels and latents. Each window is weighted by linear fade-in/out ramps over the overlap and the sum
is divided by the summed weights, so a stationary signal keeps a constant level across seams.
"""

from __future__ import annotations

import math

import torch


def plan_windows(length: int, window: int, overlap: int, unit: int = 1) -> list[int]:
    """Start offsets (multiples of ``unit``) of windows of ``window`` samples covering ``length`` samples."""
    if length <= window:
        return [0]
    hop = max(unit, ((window - overlap) // unit) * unit)
    count = math.ceil((length - window) / hop) + 1
    return [index * hop for index in range(count)]


def split_windows(wave: torch.Tensor, starts: list[int], window: int) -> torch.Tensor:
    """Cut ``(T,)`` into ``(W, window)``, zero-padding past the end."""
    total = starts[-1] + window
    padded = torch.nn.functional.pad(wave, (0, max(0, total - wave.shape[-1])))
    return torch.stack([padded[start : start + window] for start in starts])


def fade_weights(window: int, overlap: int, first: bool, last: bool, device=None) -> torch.Tensor:
    """``(window,)`` weights: linear ramps over ``overlap`` at the inner edges, ones elsewhere."""
    weights = torch.ones(window, device=device)
    if overlap > 0:
        ramp = (torch.arange(overlap, device=device, dtype=torch.float32) + 0.5) / overlap
        if not first:
            weights[:overlap] = ramp
        if not last:
            weights[-overlap:] = ramp.flip(0)
    return weights


class OverlapAdd:
    """Accumulates weighted windows along the last axis; memory is the output's size, not the windows'."""

    def __init__(self, starts: list[int], window: int, length: int, overlap: int):
        self.starts, self.window, self.length, self.overlap = starts, window, length, overlap
        self.out = None
        self.norm = torch.zeros(starts[-1] + window)

    def add(self, index: int, chunk: torch.Tensor):
        """Add window ``index``, shaped ``(..., window)``."""
        if self.out is None:
            self.out = torch.zeros(*chunk.shape[:-1], self.starts[-1] + self.window, dtype=chunk.dtype)
        last = index == len(self.starts) - 1
        weights = fade_weights(self.window, self.overlap, index == 0, last).to(chunk.dtype)
        start = self.starts[index]
        self.out[..., start : start + self.window] += chunk.detach().cpu() * weights
        self.norm[start : start + self.window] += weights

    def result(self) -> torch.Tensor:
        """The recombined signal, ``(..., length)``."""
        return (self.out / self.norm.clamp(min=1e-8).to(self.out.dtype))[..., : self.length]


def overlap_add(chunks: torch.Tensor, starts: list[int], length: int, overlap: int) -> torch.Tensor:
    """Recombine windows ``(W, ..., window)`` into ``(..., length)``."""
    adder = OverlapAdd(starts, chunks.shape[-1], length, overlap)
    for index, chunk in enumerate(chunks):
        adder.add(index, chunk)
    return adder.result()
