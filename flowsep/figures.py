"""Example outputs: audio files and log-mel spectrogram figures (matplotlib's Agg canvas, no display).

Used by training (validation separations), evaluation and `flowsep demo`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from matplotlib.figure import Figure

from .audio import save_audio
from .spectrogram import MelConfig, log_mel_spectrogram


def mel_figure(
    mels: dict[str, torch.Tensor], mel: MelConfig, title: str = "", spans: dict[str, list] | None = None
) -> Figure:
    """One panel per log-mel ``(n_mels, frames)``, sharing a colour scale; ``spans`` (``{name: [(start, end),
    ...]}`` in seconds) are marked on their panels."""
    figure = Figure(figsize=(8, 2.2 * len(mels)), layout="constrained")
    axes = figure.subplots(len(mels), 1, squeeze=False)[:, 0]
    values = [m.detach().float().cpu() for m in mels.values()]
    vmin, vmax = min(float(v.min()) for v in values), max(float(v.max()) for v in values)
    seconds = values[0].shape[-1] * mel.hop_length / mel.sample_rate
    for ax, (name, value) in zip(axes, zip(mels, values)):
        image = ax.imshow(value.numpy(), origin="lower", aspect="auto", vmin=vmin, vmax=vmax,
                          extent=(0.0, seconds, 0, value.shape[0]), cmap="magma")  # fmt: skip
        ax.set_title(f"{title} {name}".strip(), fontsize=9)
        for start, end in (spans or {}).get(name, []):
            ax.axvspan(start, end, ymin=0.0, ymax=0.04, color="cyan")  # a bar under the active time
            ax.axvspan(start, end, color="white", alpha=0.12, linewidth=0)
        ax.set_ylabel("mel bin")
    axes[-1].set_xlabel("seconds")
    figure.colorbar(image, ax=list(axes), shrink=0.8, label="log-mel")
    return figure


def write_example(
    folder: Path,
    name: str,
    mel: MelConfig,
    waves: dict[str, torch.Tensor],
    mels: dict[str, torch.Tensor] | None = None,
) -> Figure:
    """Write ``folder/name_<key>.wav`` for each waveform ``(T,)`` and ``folder/name.png`` with their log-mels
    (or the given ``mels``, ``(n_mels, frames)``). Returns the figure."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, wave in waves.items():
        save_audio(folder / f"{name}_{key}.wav", wave.detach().float().cpu().clamp(-1, 1), mel.sample_rate)
    if mels is None:
        mels = {key: log_mel_spectrogram(wave.detach().float().cpu(), mel)[0] for key, wave in waves.items()}
    figure = mel_figure(mels, mel, title=name)
    figure.savefig(folder / f"{name}.png", dpi=100)
    return figure
