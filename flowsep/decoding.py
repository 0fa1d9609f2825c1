"""From generated target mels to waveforms.

* ``"vocoder"`` (the paper's path): mel -> BigVGAN; the residual is ``mixture - target``, which is only
  approximate because a vocoder does not reproduce the mixture's phase.
* ``"mask"``: mixture-consistent resynthesis. The generated target mel and the mixture's mel give a soft
  time-frequency mask, spread from mel bands onto STFT bins, applied to the mixture's STFT and inverted with the
  mixture's phase. The output is sample-aligned with the input, contains nothing that is not in the mixture,
  and ``target + residual == mixture`` exactly (the residual is defined as the difference).
"""

from __future__ import annotations

import torch

from .codec import AudioCodec
from .spectrogram import MelConfig, log_mel_spectrogram, mel_basis

DECODERS = ("vocoder", "mask")
MASK_RULES = ("ratio", "wiener", "binary")


def mel_to_linear_weights(config: MelConfig, device=None) -> torch.Tensor:
    """``(bins, n_mels)`` map from mel bands to STFT bins: each bin averages the bands that cover it."""
    basis = mel_basis(config, device)  # (M, K)
    weights = basis.T.clone()  # (K, M)
    totals = weights.sum(dim=1, keepdim=True)
    empty = totals.squeeze(1) <= 0
    if empty.any():
        covered = torch.nonzero(~empty).squeeze(1)
        nearest = covered[
            torch.bucketize(torch.nonzero(empty).squeeze(1), covered).clamp(max=len(covered) - 1)
        ]
        weights[empty] = weights[nearest]
        totals = weights.sum(dim=1, keepdim=True)
    return weights / totals


def mel_mask(target_mel: torch.Tensor, mixture_mel: torch.Tensor, rule: str = "ratio") -> torch.Tensor:
    """Mask in [0, 1] per mel band and frame from log-mels ``(B, M, N)``.

    ``ratio``: target / mixture magnitude; ``wiener``: target^2 / (target^2 + rest^2) with
    ``rest = max(mixture - target, 0)``; ``binary``: target above half the mixture.
    """
    target, mixture = target_mel.exp(), mixture_mel.exp()
    if rule == "ratio":
        return (target / mixture).clamp(0.0, 1.0)
    if rule == "wiener":
        rest = (mixture - target).clamp(min=0.0)
        return target.pow(2) / (target.pow(2) + rest.pow(2)).clamp(min=1e-12)
    if rule == "binary":
        return (target > 0.5 * mixture).to(target.dtype)
    raise ValueError(f"unknown mask rule {rule!r}: choose one of {MASK_RULES}")


def mask_decode(
    target_mel: torch.Tensor,
    mixture: torch.Tensor,
    config: MelConfig,
    rule: str = "ratio",
    chunk_seconds: float = 30.0,
) -> torch.Tensor:
    """Mixture-consistent target: ``target_mel (B, M, N)``, ``mixture (B, T)`` -> ``(B, T)``.

    Long mixtures are decoded in chunks of ``chunk_seconds``, each with at least ``n_fft`` samples of context on
    both sides that are cut off afterwards, so memory does not grow with the STFT of the whole input; the result
    is the same as one pass, since STFT frames are local.
    """
    mixture = mixture.float()
    hop = config.hop_length
    chunk, margin = int(chunk_seconds * config.sample_rate), -(-config.n_fft // hop) * hop
    chunk -= chunk % hop
    if mixture.shape[-1] <= chunk + 2 * margin:
        return _mask_decode_whole(target_mel, mixture, config, rule)
    pieces = []
    for start in range(0, mixture.shape[-1], chunk):
        left = max(0, start - margin)  # a multiple of hop: the chunk's frames stay on the global frame grid
        right = min(mixture.shape[-1], start + chunk + margin)
        first = left // hop
        mel = target_mel[..., first : first + (right - left) // hop + 1]
        piece = _mask_decode_whole(mel, mixture[..., left:right], config, rule)
        pieces.append(piece[..., start - left : start - left + chunk])
    return torch.cat(pieces, dim=-1)


def _mask_decode_whole(
    target_mel: torch.Tensor, mixture: torch.Tensor, config: MelConfig, rule: str
) -> torch.Tensor:
    """One-pass mask decoding of ``mixture (B, T)`` with ``target_mel (B, M, N)``."""
    mixture_mel = log_mel_spectrogram(mixture, config)
    frames = min(mixture_mel.shape[-1], target_mel.shape[-1])
    mask = mel_mask(target_mel[..., :frames].float(), mixture_mel[..., :frames], rule)  # (B, M, N)
    linear_mask = torch.einsum("km,bmn->bkn", mel_to_linear_weights(config, mixture.device), mask)
    window = torch.hann_window(config.win_length, device=mixture.device)
    spec = torch.stft(
        mixture, config.n_fft, config.hop_length, config.win_length, window, center=True, return_complex=True
    )  # (B, K, T // hop + 1)
    pad = spec.shape[-1] - linear_mask.shape[-1]
    linear_mask = torch.nn.functional.pad(linear_mask, (0, pad), mode="replicate") if pad > 0 else linear_mask
    masked = spec * linear_mask[..., : spec.shape[-1]]
    return torch.istft(
        masked,
        config.n_fft,
        config.hop_length,
        config.win_length,
        window,
        center=True,
        length=mixture.shape[-1],
    )


def decode_target(
    mel: torch.Tensor, mixture: torch.Tensor, codec: AudioCodec, decoder: str = "mask",
    mask_rule: str = "ratio", vocoded: torch.Tensor | None = None, device: torch.device | str = "cpu",
) -> torch.Tensor:  # fmt: skip
    """The target ``(S,)`` at the level of ``mixture (S,)`` (as given, at the codec's rate; silence gives
    silence): ``mask_decode`` of the log-mel ``mel (M, N)``, or the vocoder's waveform ``vocoded (S,)``, both
    at the codec's level."""
    if mixture.abs().max() == 0:
        return torch.zeros_like(mixture)
    scaled, gain = codec.level(mixture)
    if decoder == "vocoder":
        return vocoded / gain
    target = mask_decode(mel[None].to(device), scaled[None].to(device), codec.mel, mask_rule)[0]
    return target.cpu() / gain
