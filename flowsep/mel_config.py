"""The front end's settings (:class:`MelConfig`), apart from :mod:`flowsep.spectrogram` so that reading a recipe
or a model's config needs no torch."""

from __future__ import annotations

from dataclasses import dataclass

FRAMINGS = ("bigvgan", "tacotron")


@dataclass(frozen=True)
class MelConfig:
    """Front-end settings. Defaults are FlowSep's: 16 kHz, 64 bands, hop 160 (100 frames per second), framed
    as BigVGAN frames its mels (``framing``: ``"bigvgan"`` or ``"tacotron"``, see :mod:`flowsep.spectrogram`)."""

    sample_rate: int = 16000
    n_fft: int = 1024
    hop_length: int = 160
    win_length: int = 1024
    n_mels: int = 64
    fmin: float = 0.0
    fmax: float = 8000.0
    log_floor: float = 1e-5
    framing: str = "bigvgan"

    def __post_init__(self):
        if self.framing not in FRAMINGS:
            raise ValueError(f"unknown mel framing {self.framing!r}: choose one of {FRAMINGS}")
