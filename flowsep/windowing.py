"""Any-length audio: fixed windows with overlap, recombined by weighted overlap-add.

Windows are placed on a grid of ``unit`` samples (one latent frame), so one :class:`WindowPlan` recombines
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


class WindowPlan:
    """Windows of ``window`` samples over an input of ``length`` samples, on three grids: samples, mel frames
    (``hop`` samples) and latent frames (``unit`` samples, a multiple of ``hop``).

    Neighbouring windows share ``overlap`` samples (a multiple of ``unit``); each grid has its overlap-adder.
    """

    def __init__(self, length: int, window: int, overlap: int, hop: int, unit: int):
        self.length, self.window, self.overlap, self.hop, self.unit = length, window, overlap, hop, unit
        self.starts = plan_windows(length, window, overlap, unit)

    def __len__(self) -> int:
        return len(self.starts)

    def window_of(self, wave: torch.Tensor, index: int) -> torch.Tensor:
        """Window ``index`` of ``wave (S,)``, ``(window,)``, zero-padded past the end."""
        chunk = wave[self.starts[index] : self.starts[index] + self.window]
        return torch.nn.functional.pad(chunk, (0, self.window - chunk.shape[-1]))

    def split(self, wave: torch.Tensor) -> torch.Tensor:
        """All windows of ``wave (S,)``: ``(W, window)``."""
        return torch.stack([self.window_of(wave, index) for index in range(len(self))])

    def sample_adder(self) -> OverlapAdd:
        """Recombines windows ``(..., window)`` into ``(..., length)`` samples."""
        return OverlapAdd(self.starts, self.window, self.length, self.overlap)

    def mel_adder(self) -> OverlapAdd:
        """Recombines mel windows ``(..., window / hop)`` into ``(..., length // hop + 1)`` frames."""
        hop = self.hop
        return OverlapAdd(
            [s // hop for s in self.starts], self.window // hop, self.length // hop + 1, self.overlap // hop
        )

    def latent_adder(self) -> OverlapAdd:
        """Recombines latent windows ``(..., window / unit)`` into ``(..., ceil(length / unit))`` frames."""
        unit = self.unit
        return OverlapAdd(
            [s // unit for s in self.starts],
            self.window // unit,
            -(-self.length // unit),
            self.overlap // unit,
        )

    def adders(self) -> WindowedOutputs:
        """Empty overlap-adders for this plan's latents, mels and samples."""
        return WindowedOutputs(self)


class WindowedOutputs:
    """Per-window outputs of one item, recombined on the plan's three grids as they arrive."""

    def __init__(self, plan: WindowPlan):
        self.latent, self.mel, self.sample = plan.latent_adder(), plan.mel_adder(), plan.sample_adder()

    def add(self, index: int, latents: torch.Tensor, mel: torch.Tensor, wave: torch.Tensor | None = None):
        """Window ``index``: latents ``(C, T, F)``, linear mel ``(M, N)`` and optionally samples ``(S,)``."""
        self.latent.add(index, latents.float().movedim(1, -1))  # (C, F, T)
        self.mel.add(index, mel)
        if wave is not None:
            self.sample.add(index, wave)

    def latents(self) -> torch.Tensor:
        """``(C, T, F)`` over the whole input."""
        return self.latent.result().movedim(-1, 1)
