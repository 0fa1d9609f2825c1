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

from .choices import DECODERS, MASK_RULES
from .codec import AudioCodec
from .spectrogram import MelConfig, log_mel_spectrogram, mel_basis

__all__ = [
    "DECODERS", "MASK_RULES", "apply_mel_mask", "decode_target", "decode_to_input", "mask_decode", "mel_mask",
    "mel_to_linear_weights", "mixture_mel_mask", "high_band_row", "decode_jointly", "consistent_masks",
]  # fmt: skip
HIGH_BANDS = (0.7, 0.9)  # fractions of fmax: the bands whose mask is applied above the model's band


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
    mixture, length = _pad_short(mixture.float(), config.n_fft), mixture.shape[-1]
    if mixture.shape[-1] != length:  # shorter than one STFT frame: decoded padded with silence, then trimmed
        return mask_decode(target_mel, mixture, config, rule, chunk_seconds)[..., :length]
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


def _pad_short(wave: torch.Tensor, least: int) -> torch.Tensor:
    """``wave (..., S)`` zero-padded to at least ``least`` samples (an STFT's reflect padding needs them)."""
    return torch.nn.functional.pad(wave, (0, least - wave.shape[-1])) if wave.shape[-1] < least else wave


def _chunks(length: int, chunk: int, margin: int):
    """``(start, left, right)`` of chunks of ``chunk`` samples with ``margin`` samples of context each side."""
    for start in range(0, length, chunk):
        yield start, max(0, start - margin), min(length, start + chunk + margin)


def mixture_mel_mask(
    target_mel: torch.Tensor, mixture: torch.Tensor, config: MelConfig, rule: str = "ratio",
    chunk_seconds: float = 30.0,
) -> torch.Tensor:  # fmt: skip
    """The mel mask ``(M, N)`` of a target log-mel ``(M, N')`` against ``mixture (S,)`` (levelled, at the
    codec's rate), computed in chunks so that memory does not grow with the STFT of a long input."""
    hop, length = config.hop_length, mixture.shape[-1]
    mixture = _pad_short(mixture.float(), config.n_fft)
    chunk, margin = (
        max(hop, int(chunk_seconds * config.sample_rate) // hop * hop),
        -(-config.n_fft // hop) * hop,
    )
    frames = min(target_mel.shape[-1], max(1, length // hop))
    masks = []
    for start, left, right in _chunks(max(length, 1), chunk, margin):
        mel = log_mel_spectrogram(_pad_short(mixture[None, left:right], config.n_fft), config)[0]  # (M, n)
        first, count = start // hop, min(chunk // hop, frames - start // hop)
        if count <= 0:
            break
        part = mel[:, (start - left) // hop :][:, :count]
        target = target_mel[:, first : first + part.shape[-1]].float()
        masks.append(mel_mask(target[None], part[None].to(target.device), rule)[0])
    return torch.cat(masks, dim=-1)


def high_band_row(config: MelConfig, device=None) -> torch.Tensor:
    """``(n_mels,)`` weights of the mask used above the model's band: the mean of the bands centred within
    :data:`HIGH_BANDS` of ``fmax`` (at 16 kHz, 5.6 to 7.2 kHz: the highest bands the resampler leaves whole;
    the top band, whose mixture energy the resampler's roll-off removes, would pass the input through)."""
    basis = mel_basis(config, device)  # (M, K)
    centres = basis.argmax(dim=1).double() * config.sample_rate / config.n_fft
    low, high = (fraction * config.fmax for fraction in HIGH_BANDS)
    chosen = (centres >= low) & (centres <= high)
    if not chosen.any():
        chosen = centres == centres.max()
    return chosen.float() / chosen.sum()


def input_rate_weights(config: MelConfig, n_fft: int, sample_rate: int, device=None) -> torch.Tensor:
    """``(n_fft // 2 + 1, n_mels)`` map from mel bands to the bins of an STFT at another rate: the rows of
    :func:`mel_to_linear_weights` interpolated at each bin's frequency; bins above the model's Nyquist
    frequency (8 kHz for a 16 kHz model) take :func:`high_band_row`."""
    base = mel_to_linear_weights(config, device)  # (K, M)
    freqs = torch.arange(n_fft // 2 + 1, device=device, dtype=torch.float64) * sample_rate / n_fft
    position = (freqs * config.n_fft / config.sample_rate).clamp(0, base.shape[0] - 1)
    low = position.floor().long()
    high = (low + 1).clamp(max=base.shape[0] - 1)
    frac = (position - low).float()[:, None]
    weights = base[low] * (1 - frac) + base[high] * frac
    above = freqs > config.sample_rate / 2
    weights[above] = high_band_row(config, device).to(weights.dtype)
    return weights


def apply_mel_mask(
    mask: torch.Tensor, wave: torch.Tensor, sample_rate: int, config: MelConfig, chunk_seconds: float = 30.0
) -> torch.Tensor:
    """Apply a mel mask ``(M, N)`` (frames of ``config.hop_length`` at ``config.sample_rate``) to every channel of
    ``wave (C, S)`` at its own ``sample_rate``: an STFT with the same window and hop in seconds, the mask
    interpolated onto its bins and frames, inverted with the wave's phase. Returns ``(C, S)``; the residual
    ``wave - result`` completes it exactly. Chunked like :func:`mask_decode`."""
    ratio = sample_rate / config.sample_rate
    hop, win = max(1, round(config.hop_length * ratio)), max(4, 2 * round(config.win_length * ratio / 2))
    weights = input_rate_weights(config, win, sample_rate, mask.device)  # (K', M)
    window = torch.hann_window(win, device=mask.device)
    length = wave.shape[-1]
    padded = _pad_short(wave.float().to(mask.device), win)
    chunk, margin = max(hop, int(chunk_seconds * sample_rate) // hop * hop), -(-win // hop) * hop
    pieces = []
    for start, left, right in _chunks(padded.shape[-1], chunk, margin):
        piece = _pad_short(padded[:, left:right], win)
        spec = torch.stft(piece, win, hop, win, window, center=True, return_complex=True)  # (C, K', F)
        seconds = (left // hop + torch.arange(spec.shape[-1], device=mask.device)) * hop / sample_rate
        position = (seconds * config.sample_rate / config.hop_length).clamp(0, mask.shape[-1] - 1)
        low = position.floor().long()
        high = (low + 1).clamp(max=mask.shape[-1] - 1)
        frac = position - low
        frames = mask[:, low] * (1 - frac) + mask[:, high] * frac  # (M, F)
        masked = spec * (weights @ frames)[None]
        out = torch.istft(masked, win, hop, win, window, center=True, length=piece.shape[-1])
        pieces.append(out[:, start - left : start - left + chunk])
    return torch.cat(pieces, dim=-1)[:, :length]


def decode_to_input(
    mel: torch.Tensor, mixture: torch.Tensor, original: torch.Tensor, sample_rate: int, codec: AudioCodec,
    decoder: str = "mask", mask_rule: str = "ratio", vocoded: torch.Tensor | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:  # fmt: skip
    """The target ``(C, S)`` in the format of ``original (C, S)`` at ``sample_rate`` (the user's input), from the
    log-mel ``mel (M, N)`` generated against ``mixture (S',)`` (its mono down-mix at the codec's rate).

    ``"mask"``: the mel mask applied to each channel of ``original`` (:func:`apply_mel_mask`); ``"vocoder"``: the
    vocoder's mono waveform ``vocoded`` resampled to ``sample_rate``, the same in every channel."""
    if original.abs().max() == 0:
        return torch.zeros_like(original)
    scaled, gain = codec.level(mixture)
    if decoder == "vocoder":
        from .audio import resample

        mono = (vocoded / gain).cpu().float().numpy()[None]
        target = torch.from_numpy(resample(mono, codec.sample_rate, sample_rate))[:, : original.shape[-1]]
        target = torch.nn.functional.pad(target, (0, original.shape[-1] - target.shape[-1]))
        return target.expand_as(original).clone()
    mask = mixture_mel_mask(mel.to(device), scaled.to(device), codec.mel, mask_rule)
    return apply_mel_mask(mask, original, sample_rate, codec.mel).cpu()


def consistent_masks(masks: torch.Tensor) -> torch.Tensor:
    """Masks ``(K, M, N)`` of K queries on one mixture, scaled where together they claim more than the mixture
    (sum over K above 1 in a band and frame) so that they sum to at most 1: no sound is given to two queries."""
    total = masks.sum(dim=0, keepdim=True)
    return masks / total.clamp(min=1.0)


def decode_jointly(
    mels: list[torch.Tensor], mixture: torch.Tensor, original: torch.Tensor, sample_rate: int, codec: AudioCodec,
    decoder: str = "mask", mask_rule: str = "ratio", vocoded: list | None = None, device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Targets ``(K, C, S)`` of K queries on one mixture and the rest ``(C, S)`` (what no query claimed), in the
    format of ``original (C, S)`` at ``sample_rate``; ``targets.sum(0) + rest == original``.

    ``"mask"``: each query's mel mask against ``mixture (S',)`` (the mono down-mix at the codec's rate) is made
    consistent with the others (:func:`consistent_masks`) and applied to every channel of ``original``;
    ``"vocoder"``: the targets of :func:`decode_to_input`, the rest the difference."""
    if decoder == "vocoder" or original.abs().max() == 0:
        targets = torch.stack([
            decode_to_input(mel, mixture, original, sample_rate, codec, decoder, mask_rule, wave, device)
            for mel, wave in zip(mels, vocoded or [None] * len(mels))
        ])  # fmt: skip
        return targets, original - targets.sum(0)
    scaled, _ = codec.level(mixture)
    masks = consistent_masks(torch.stack(
        [mixture_mel_mask(mel.to(device), scaled.to(device), codec.mel, mask_rule) for mel in mels]
    ))  # fmt: skip  # (K, M, N)
    targets = torch.stack([apply_mel_mask(mask, original, sample_rate, codec.mel).cpu() for mask in masks])
    return targets, original - targets.sum(0)
