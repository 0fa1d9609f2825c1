"""Known answers for decoding at the input's own rate and channels: the mel mask of a target against the
mixture (:func:`mixture_mel_mask`), its spread onto the bins of another rate (:func:`input_rate_weights`), its
application to every channel (:func:`apply_mel_mask`) and :func:`decode_to_input`.

Expected values come from the definitions: a mask that is the same in every band scales each sample by the
window-weighted mean of the frames' mask values, whatever the rate; bins take the linearly interpolated rows of
the codec's weights at their frequency; and at the codec's rate the mask is applied frame by frame to the STFT.
"""

import numpy as np
import pytest
import torch
from conftest import tone

from flowsep.codec import AudioCodec
from flowsep.decoding import (
    apply_mel_mask,
    consistent_masks,
    decode_jointly,
    decode_target,
    decode_to_input,
    input_rate_weights,
    mask_decode,
    mel_mask,
    mel_to_linear_weights,
    mixture_mel_mask,
)
from flowsep.metrics import si_sdr
from flowsep.spectrogram import MelConfig, log_mel_spectrogram

SR = 16000
CONFIG = MelConfig()
# 8000 frames per second: at 8 kHz a one-sample hop and a four-sample window
TINY = MelConfig(sample_rate=SR, n_fft=32, hop_length=2, win_length=8, n_mels=8)


def noise(*shape: int, seed: int, scale: float = 0.1) -> torch.Tensor:
    return scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def uniform(*shape: int, seed: int) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def flat_mask_output(wave: np.ndarray, gains: np.ndarray, config: MelConfig, rate: int, hop: int, win: int):
    """``wave (C, S)`` through a mask equal in every band: sample n is scaled by ``sum_j g_j w_j(n)^2 /
    sum_j w_j(n)^2`` over the frames j of a centred STFT (periodic Hann ``win``, hop ``hop``), ``g_j`` the mask
    linearly interpolated at frame j's time in codec frames (held beyond its ends)."""
    length = wave.shape[-1]
    starts = np.arange(length // hop + 1) * hop
    g = np.interp(starts / rate * config.sample_rate / config.hop_length, np.arange(len(gains)), gains)
    w2 = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)) ** 2
    weighted, total = np.zeros(length + win), np.zeros(length + win)
    for start, gain in zip(starts, g):
        weighted[start : start + win] += gain * w2
        total[start : start + win] += w2
    kept = slice(win // 2, win // 2 + length)
    return wave * weighted[kept] / total[kept]


# ---------------------------------------------------------------- input_rate_weights


@pytest.mark.parametrize(("n_fft", "rate"), [(2822, 44100), (1023, SR)])
def test_input_rate_weights_interpolate_the_codec_rows_at_each_bin_frequency(n_fft, rate):
    """Bin k at k * rate / n_fft Hz takes the codec's rows interpolated at that frequency (in float64, so to
    float32 rounding), bin 0 the first row, bins above the codec's Nyquist the mean of the bands centred at
    5.6-7.2 kHz (mel bands 57-61 of 64); an odd n_fft has n_fft // 2 + 1 bins, as its STFT."""
    base = mel_to_linear_weights(CONFIG).double().numpy()  # (513, 64), rows every 15.625 Hz
    position = np.arange(n_fft // 2 + 1) * rate / n_fft / (SR / CONFIG.n_fft)
    expected = np.stack([np.interp(position, np.arange(513), column) for column in base.T], axis=1)
    high = np.zeros(CONFIG.n_mels)
    high[57:62] = 0.2
    expected[np.arange(n_fft // 2 + 1) * rate / n_fft > SR / 2] = high
    weights = input_rate_weights(CONFIG, n_fft, rate)
    assert weights.shape == (n_fft // 2 + 1, CONFIG.n_mels)
    np.testing.assert_allclose(weights.double().numpy(), expected, rtol=0, atol=4e-7)


def test_above_the_model_band_the_mask_of_the_highest_whole_bands_applies():
    """White noise at 44.1 kHz under a mask of 0.1 in bands 57-61 (5.6-7.2 kHz) and 1 elsewhere: above 8 kHz the
    noise keeps a tenth of its amplitude (-20 dB), not the top band's 1 (the input passed through); below 5 kHz
    it is untouched. Guards against bins above the model's band copying the top band's mask."""
    rate = 44100
    wave = noise(1, rate, seed=5)
    mask = torch.ones(CONFIG.n_mels, SR // CONFIG.hop_length + 1)
    mask[57:62] = 0.1
    out = apply_mel_mask(mask, wave, rate, CONFIG)
    spectrum, source = (torch.fft.rfft(x[0]).abs().pow(2) for x in (out, wave))
    freqs = torch.fft.rfftfreq(wave.shape[-1], 1 / rate)
    above, below = (freqs > 8500) & (freqs < 21000), freqs < 5000
    gain_above = 10 * torch.log10(spectrum[above].sum() / source[above].sum())
    gain_below = 10 * torch.log10(spectrum[below].sum() / source[below].sum())
    assert abs(gain_above.item() + 20) < 0.5 and abs(gain_below.item()) < 0.1


# ---------------------------------------------------------------- apply_mel_mask


def test_at_the_codec_rate_the_mask_is_spread_over_bins_and_applied_frame_by_frame():
    """Ratio 1: frame j of the STFT takes mask column j spread by mel_to_linear_weights, inverted with the
    wave's phase; a mask that varies in time and frequency, every sample, both channels."""
    wave = noise(2, SR + 77, seed=1)
    mask = uniform(CONFIG.n_mels, wave.shape[-1] // CONFIG.hop_length + 1, seed=2)
    window = torch.hann_window(CONFIG.n_fft)
    spec = torch.stft(wave, CONFIG.n_fft, CONFIG.hop_length, window=window, center=True, return_complex=True)
    spec = spec * (mel_to_linear_weights(CONFIG) @ mask)
    expected = torch.istft(spec, CONFIG.n_fft, CONFIG.hop_length, window=window, length=wave.shape[-1])
    out = apply_mel_mask(mask, wave, SR, CONFIG)
    assert out.shape == wave.shape
    assert (out - expected).abs().max().item() < 1e-5


@pytest.mark.parametrize(
    ("config", "rate", "hop", "win"),
    [
        (CONFIG, 8000, 80, 512),
        (CONFIG, 22050, 220, 1412),  # a hop of 220.5 samples rounds to 220: frames fall between mask columns
        (CONFIG, 44100, 441, 2822),
        (CONFIG, 48000, 480, 3072),
        (TINY, 8000, 1, 4),
    ],
)
def test_mask_equal_in_every_band_scales_each_sample_at_any_rate(config, rate, hop, win):
    """The hop and window keep their length in seconds (rounded; the window to an even length), and each
    frame takes the mask at its time; the mask ends before the wave, whose end holds its last column. (Frame
    times are float32: at 8000 frames per second a few thousand columns in, they are off by ~1e-4 column.)"""
    wave = noise(2, rate // 2 + 13, seed=3)
    columns = int(0.4 * config.sample_rate / config.hop_length)  # 0.4 s of a 0.5 s wave
    gains = uniform(columns, seed=4)
    out = apply_mel_mask(gains.expand(config.n_mels, -1), wave, rate, config)
    expected = flat_mask_output(wave.double().numpy(), gains.double().numpy(), config, rate, hop, win)
    assert out.shape == wave.shape
    np.testing.assert_allclose(out.double().numpy(), expected, rtol=0, atol=1e-4)


def test_mask_that_alternates_every_codec_frame_with_a_one_sample_hop():
    """Codec frames of 2 samples at 16 kHz are 1 sample at 8 kHz, with a window [0, 1/2, 1, 1/2]: sample n sees
    frames n (weight 1) and n +- 1 (weight 1/4 each), so a mask of 1 on even frames and 0 on odd ones keeps 2/3
    of the even samples and 1/3 of the odd ones."""
    wave = noise(1, 64, seed=5)
    mask = (torch.arange(65) % 2 == 0).float().expand(TINY.n_mels, -1)
    out = apply_mel_mask(mask, wave, 8000, TINY)
    scale = torch.where(torch.arange(64) % 2 == 0, 2 / 3, 1 / 3)
    torch.testing.assert_close(out[:, 1:-2], (scale * wave)[:, 1:-2], rtol=0, atol=1e-6)


@pytest.mark.parametrize("length", [1, 101, 2821, 2823])
def test_inputs_of_any_length_keep_it(length):
    """Odd lengths and inputs shorter than one window (2822 samples at 44.1 kHz) keep their length; a mask of
    one half everywhere halves them."""
    wave = noise(2, length, seed=6)
    out = apply_mel_mask(torch.full((CONFIG.n_mels, 3), 0.5), wave, 44100, CONFIG)
    assert out.shape == wave.shape
    torch.testing.assert_close(out, 0.5 * wave, rtol=0, atol=1e-6)


def test_long_inputs_are_analysed_in_chunks_with_margins(monkeypatch):
    """Memory does not grow with the input: every STFT covers at most a chunk and a margin of whole frames
    covering one window on each side (0.5 s, and 7 hops of 441 for a 2822-sample window at 44.1 kHz); inputs
    that fit are analysed in one pass, with the same result."""
    lengths = []
    stft = torch.stft

    def recording_stft(wave, *args, **kwargs):
        lengths.append(wave.shape[-1])
        return stft(wave, *args, **kwargs)

    monkeypatch.setattr(torch, "stft", recording_stft)
    wave, mask = noise(2, 50000, seed=7), uniform(CONFIG.n_mels, 114, seed=7)
    chunked = apply_mel_mask(mask, wave, 44100, CONFIG, chunk_seconds=0.5)
    assert lengths == [22050 + 3087, 22050 + 2 * 3087, 50000 - 44100 + 3087]
    lengths.clear()
    whole = apply_mel_mask(mask, wave, 44100, CONFIG)
    assert lengths == [50000]
    torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-6)


def test_mask_decoders_analyse_long_mixtures_in_chunks_with_margins(monkeypatch):
    """At the codec's rate the chunks are 0.5 s (8000 samples) with margins of 7 hops of 160 (1120 samples)
    for the 1024-sample window: mask_decode takes a mixture of up to a chunk and two margins in one pass, and
    chunks a longer one with the same result."""
    from flowsep import decoding

    lengths = []
    log_mel = decoding.log_mel_spectrogram

    def recording_log_mel(wave, *args):
        lengths.append(wave.shape[-1])
        return log_mel(wave, *args)

    monkeypatch.setattr(decoding, "log_mel_spectrogram", recording_log_mel)
    mixture = noise(1, 10400, seed=8)
    mel = log_mel(mixture, CONFIG) + noise(1, CONFIG.n_mels, 65, seed=9)
    mask_decode(mel, mixture[:, :10240], CONFIG, chunk_seconds=0.5)
    assert lengths == [10240]
    lengths.clear()
    chunked = mask_decode(mel, mixture, CONFIG, chunk_seconds=0.5)
    assert lengths == [8000 + 1120, 10400 - 8000 + 1120]
    torch.testing.assert_close(chunked, mask_decode(mel, mixture, CONFIG), rtol=0, atol=1e-6)
    lengths.clear()
    mixture_mel_mask(torch.zeros(CONFIG.n_mels, 125), noise(20000, seed=8), CONFIG, chunk_seconds=0.5)
    assert lengths == [8000 + 1120, 8000 + 2 * 1120, 20000 - 16000 + 1120]


# ---------------------------------------------------------------- mixture_mel_mask and mask_decode


@pytest.mark.parametrize("rule", ["ratio", "wiener", "binary"])
@pytest.mark.parametrize("length", [195, 257])
def test_chunked_mixture_mel_mask_is_the_rule_on_the_whole_mixture(rule, length):
    """In chunks of 32 frames (0.004 s), the last holding 1 frame (195 samples) or none (257), the mask is
    the rule applied to the target and the whole mixture's log-mel, one column per whole hop."""
    mixture = noise(length, seed=9)
    frames = length // TINY.hop_length
    mixture_mel = log_mel_spectrogram(mixture[None], TINY)  # (1, M, frames)
    target = torch.cat([mixture_mel[0], torch.zeros(TINY.n_mels, 3)], dim=1)  # 3 frames longer
    target = target + noise(TINY.n_mels, frames + 3, seed=10, scale=1.0)
    expected = mel_mask(target[None, :, :frames], mixture_mel, rule)[0]
    assert expected.shape == (TINY.n_mels, frames)
    for chunk_seconds in (0.004, 30.0):
        torch.testing.assert_close(mixture_mel_mask(target, mixture, TINY, rule, chunk_seconds), expected)


def test_target_shorter_than_the_mixture_gives_its_frames():
    """A target of 40 frames against 96 frames of mixture, in chunks of 32: 40 columns."""
    mixture = noise(193, seed=11)
    target = noise(TINY.n_mels, 40, seed=12, scale=1.0)
    expected = mel_mask(target[None], log_mel_spectrogram(mixture[None], TINY)[..., :40], "wiener")[0]
    torch.testing.assert_close(mixture_mel_mask(target, mixture, TINY, "wiener", 0.004), expected)


@pytest.mark.parametrize("length", [1, 3])
def test_mixture_shorter_than_two_hops_gives_one_frame(length):
    """Under two hops (padded with silence to a window) the mask has one column, the first of the padded one."""
    mixture = noise(length, seed=13)
    target = noise(TINY.n_mels, 5, seed=14, scale=1.0)
    padded = torch.nn.functional.pad(mixture, (0, TINY.n_fft - length))
    expected = mel_mask(target[None, :, :1], log_mel_spectrogram(padded[None], TINY)[..., :1], "ratio")[0]
    torch.testing.assert_close(mixture_mel_mask(target, mixture, TINY, "ratio"), expected)


def test_default_mask_rule_is_ratio():
    """Called without a rule, both mask decoders use the ratio rule."""
    mixture = noise(1, 801, seed=15)
    mel = log_mel_spectrogram(mixture, TINY) + noise(1, TINY.n_mels, 400, seed=16, scale=1.0)
    torch.testing.assert_close(mask_decode(mel, mixture, TINY), mask_decode(mel, mixture, TINY, "ratio"))
    torch.testing.assert_close(
        mixture_mel_mask(mel[0], mixture[0], TINY), mixture_mel_mask(mel[0], mixture[0], TINY, "ratio")
    )


# ---------------------------------------------------------------- decode_to_input


@pytest.mark.parametrize("rule", ["ratio", "wiener", "binary"])
def test_decode_to_input_at_the_codec_rate_is_decode_target(rule):
    """Mono at the codec's rate both decoders give the same target, with each rule; by default the mask decoder
    with the ratio rule on the CPU."""
    codec = AudioCodec()
    mixture = noise(SR // 2 + 7, seed=17, scale=0.02)
    mel = codec.log_mel(codec.level(mixture)[0][None])[0] + noise(CONFIG.n_mels, SR // 2 // 160, seed=18)
    expected = decode_target(mel, mixture, codec, "mask", rule)[None]
    out = decode_to_input(mel, mixture, mixture[None], SR, codec, "mask", rule)
    assert (out - expected).abs().max().item() < 1e-6
    if rule == "ratio":
        torch.testing.assert_close(decode_to_input(mel, mixture, mixture[None], SR, codec), out)


def test_decode_to_input_keeps_each_channel_low_tone_at_44100():
    """A 440 Hz target under a 3 kHz interferer: the mask from the 16 kHz mixture keeps, in each channel of a
    44.1 kHz stereo input, that channel's own 440 Hz tone (its own phase and level) above 25 dB SI-SDR."""
    codec = AudioCodec()
    low, high = tone(440, 0.3, 1.0, rate=SR), tone(3000, 0.3, 1.0, phase=0.3, rate=SR)
    scaled, gain = codec.level(low + high)
    mel = codec.log_mel((low * gain)[None])[0]
    lows = torch.stack([tone(440, 0.3, 1.0, rate=44100), 0.5 * tone(440, 0.3, 1.0, phase=1.0, rate=44100)])
    original = lows + torch.stack(
        [tone(3000, 0.3, 1.0, phase=0.3, rate=44100), 0.5 * tone(3000, 0.3, 1.0, rate=44100)]
    )
    out = decode_to_input(mel, low + high, original, 44100, codec)
    assert out.shape == original.shape
    edge = 4410
    for channel in range(2):
        assert si_sdr(out[channel, edge:-edge], lows[channel, edge:-edge]).item() > 25.0


def test_silence_gives_silence_and_a_full_scale_input_is_decoded():
    """An all-zero input gives zeros of its shape; an input peaking at exactly 1, with the mixture's own mel as
    the target (a mask of ones), comes back whole."""
    codec = AudioCodec()
    mixture = noise(SR // 2, seed=19)
    mel = codec.log_mel(codec.level(mixture)[0][None])[0]
    silent = torch.zeros(2, 22050)
    assert torch.equal(decode_to_input(mel, mixture, silent, 44100, codec), silent)
    full = noise(2, 22050, seed=20)
    full = full / full.abs().max()
    assert full.abs().max().item() == 1.0
    out = decode_to_input(mel, mixture, full, 44100, codec)
    assert (out - full).abs().max().item() < 1e-5


@pytest.mark.parametrize("length", [44000, 44200])
def test_vocoder_output_is_resampled_to_the_input_length_in_every_channel(length):
    """One second of vocoder output at the codec's level, resampled to 44.1 kHz, trimmed or padded with silence
    to the input's length, the same in both channels, at the mixture's level."""
    codec = AudioCodec()
    mixture = tone(440, 0.3, 1.0, rate=SR)
    gain = codec.level(mixture)[1]
    vocoded = tone(440, 0.3, 1.0, rate=SR) * gain
    original = torch.ones(2, length)
    out = decode_to_input(
        torch.zeros(CONFIG.n_mels, 100), mixture, original, 44100, codec, "vocoder", vocoded=vocoded
    )
    assert out.shape == original.shape
    assert torch.equal(out[0], out[1])
    middle = slice(4410, 39690)
    expected = tone(440, 0.3, 1.0, rate=44100)[middle]
    assert (out[0, middle] - expected).abs().max().item() < 1e-3
    assert torch.equal(out[0, 44100:], torch.zeros(max(0, length - 44100)))  # the padding (none when trimmed)


def joint_case():
    """Two queries' mels (the 440 Hz and the 3 kHz tone's) on their mixture, and a 44.1 kHz stereo input."""
    codec = AudioCodec()
    low, high = tone(440, 0.3, 1.0, rate=SR), tone(3000, 0.2, 1.0, phase=0.3, rate=SR)
    mixture = low + high
    _, gain = codec.level(mixture)
    mels = [codec.log_mel((part * gain)[None])[0] + 1.0 for part in (low, high)]  # masks that overlap
    original = torch.stack([tone(440, 0.3, 1.0, rate=44100) + tone(3000, 0.2, 1.0, rate=44100),
                            noise(44100, seed=21)])  # fmt: skip
    return codec, mels, mixture, original


def test_joint_masks_are_made_consistent_and_the_rest_completes_the_input():
    """Guards decode_jointly's mask path: each query's mask from its mel and the mixture with the rule asked for
    (ratio by default), scaled together by consistent_masks, applied to every channel; rest = input - targets."""
    codec, mels, mixture, original = joint_case()
    targets, rest = decode_jointly(mels, mixture, original, 44100, codec)
    scaled, _ = codec.level(mixture)
    for rule in ("ratio", "binary"):
        raw = torch.stack([mixture_mel_mask(mel, scaled, codec.mel, rule) for mel in mels])
        masks = consistent_masks(raw)
        assert (raw.sum(0) > 1.01).any() and (masks.sum(0) <= 1 + 1e-6).all()  # the scaling is exercised
        expected = torch.stack([apply_mel_mask(mask, original, 44100, codec.mel) for mask in masks])
        got = (
            targets
            if rule == "ratio"
            else decode_jointly(mels, mixture, original, 44100, codec, "mask", rule)[0]
        )
        assert got.shape == (2, *original.shape)
        torch.testing.assert_close(got, expected)
    torch.testing.assert_close(targets.sum(0) + rest, original)
    assert not torch.allclose(
        targets, decode_jointly(mels, mixture, original, 44100, codec, "mask", "binary")[0]
    )


def test_joint_decoding_of_silence_and_of_the_vocoder_is_per_query():
    """A silent input gives zero targets and rest; the vocoder decoder gives each query's own waveform (through
    decode_to_input), in order, and the rest is what they leave."""
    codec, mels, mixture, original = joint_case()
    targets, rest = decode_jointly(mels, mixture, torch.zeros_like(original), 44100, codec)
    assert targets.shape == (2, *original.shape) and not targets.any() and not rest.any()
    vocoded = [noise(SR, seed=22), noise(SR, seed=23)]
    targets, rest = decode_jointly(mels, mixture, original, 44100, codec, "vocoder", vocoded=vocoded)
    for index in range(2):
        expected = decode_to_input(
            mels[index], mixture, original, 44100, codec, "vocoder", vocoded=vocoded[index]
        )
        torch.testing.assert_close(targets[index], expected)
    assert not torch.allclose(targets[0], targets[1])
    torch.testing.assert_close(rest, original - targets.sum(0))


def test_consistent_masks_divide_each_band_and_frame_by_what_all_queries_claim_there():
    """Known answer: where the K masks sum above 1 each is divided by that sum; elsewhere they are kept."""
    masks = torch.tensor([[[0.8, 0.2, 0.5], [1.0, 0.0, 0.3]], [[0.6, 0.1, 0.9], [0.5, 0.0, 0.2]]])
    total = torch.tensor([[1.4, 1.0, 1.4], [1.5, 1.0, 1.0]])  # the sums, 1 where they are at most 1
    torch.testing.assert_close(consistent_masks(masks), masks / total)
