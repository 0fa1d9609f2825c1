"""Known answers at signal level: mask rules and the mask decoder, the overlap-add of windows that differ,
loudness, SNR and peak levels, SI-SDR / SDR and their improvements.

Expected values come from the definitions (and, for loudness, from ITU-R BS.1770: a sine near 1 kHz of
amplitude A measures 20 log10(A) - 3.01 LUFS), never from the functions under test.
"""

import math

import numpy as np
import pytest
import torch
from conftest import tone

from flowsep.audio import (
    load_audio,
    loudness_gain,
    loudness_lufs,
    normalize_loudness,
    normalize_mixture,
    rms,
    scale_to_snr,
    snr_db,
)
from flowsep.codec import AudioCodec
from flowsep.decoding import (
    apply_mel_mask,
    decode_target,
    high_band_row,
    input_rate_weights,
    mask_decode,
    mel_mask,
    mel_to_linear_weights,
    mixture_mel_mask,
)
from flowsep.errors import AudioInputError
from flowsep.metrics import evaluate_separation, sdr, sdr_improvement, si_sdr, si_sdr_improvement
from flowsep.spectrogram import MelConfig, log_mel_spectrogram, mel_basis
from flowsep.windowing import OverlapAdd, WindowPlan, fade_weights, plan_windows

SR = 16000
CONFIG = MelConfig()


# ---------------------------------------------------------------- mask rules


def test_mask_rules_on_known_magnitudes():
    """Target 1 and 3 in a mixture of 4: ratio t/m, Wiener t^2/(t^2 + (m - t)^2), binary t > m/2."""
    target = torch.log(torch.tensor([[[1.0, 3.0, 5.0]]]))  # (B, M, N)
    mixture = torch.log(torch.tensor([[[4.0, 4.0, 4.0]]]))
    torch.testing.assert_close(mel_mask(target, mixture, "ratio"), torch.tensor([[[0.25, 0.75, 1.0]]]))
    torch.testing.assert_close(mel_mask(target, mixture, "wiener"), torch.tensor([[[0.1, 0.9, 1.0]]]))
    torch.testing.assert_close(mel_mask(target, mixture, "binary"), torch.tensor([[[0.0, 1.0, 1.0]]]))
    half = torch.log(torch.tensor([[[2.0]]]))  # exactly half the mixture is not above half
    assert mel_mask(half, torch.log(torch.tensor([[[4.0]]])), "binary").item() == 0.0
    with pytest.raises(ValueError, match="unknown mask rule 'soft'"):
        mel_mask(target, mixture, "soft")


def test_wiener_mask_of_silence_is_zero_not_nan():
    floor = torch.full((1, 1, 2), math.log(1e-30))
    assert torch.equal(mel_mask(floor, floor, "wiener"), torch.zeros(1, 1, 2))


def test_mel_to_linear_weights_average_the_covering_bands():
    weights = mel_to_linear_weights(CONFIG)  # (K, M)
    basis = mel_basis(CONFIG)  # (M, K)
    assert weights.shape == (CONFIG.n_fft // 2 + 1, CONFIG.n_mels)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(weights.shape[0]))
    torch.testing.assert_close(weights[100], basis[:, 100] / basis[:, 100].sum())
    # DC and Nyquist lie on no filter: they copy the nearest covered bin (1 and 511)
    assert basis[:, 0].sum() == 0
    assert basis[:, 512].sum() == 0
    torch.testing.assert_close(weights[0], weights[1])
    torch.testing.assert_close(weights[512], weights[511])


# ---------------------------------------------------------------- mask decoder


@pytest.mark.parametrize("rule", ["ratio", "wiener", "binary"])
def test_mixture_mel_as_target_returns_the_mixture_sample_for_sample(rule):
    mixture = 0.1 * torch.randn(2, SR, generator=torch.Generator().manual_seed(0))
    out = mask_decode(log_mel_spectrogram(mixture, CONFIG), mixture, CONFIG, rule)
    assert out.shape == mixture.shape
    assert (out - mixture).abs().max().item() < 1e-5


def test_mask_decoder_applies_a_frame_gain_through_a_hann_stft():
    """A gain per frame, the same in every band, is that gain on each frame of a Hann STFT (the weights from bands
    to bins average, so a flat mask stays flat)."""
    wave = torch.randn(SR, generator=torch.Generator().manual_seed(0))
    mixture_mel = log_mel_spectrogram(wave[None], CONFIG)  # (1, M, N)
    gains = torch.rand(mixture_mel.shape[-1], generator=torch.Generator().manual_seed(1)) * 0.9 + 0.1
    out = mask_decode(mixture_mel + gains.log(), wave[None], CONFIG)[0]
    window = torch.hann_window(CONFIG.win_length, dtype=torch.float64)
    spec = torch.stft(wave.double(), CONFIG.n_fft, CONFIG.hop_length, CONFIG.win_length, window,
                      center=True, return_complex=True)  # fmt: skip
    assert spec.shape[-1] == gains.shape[0] + 1  # the STFT's last frame takes the last mel frame's gain
    expected = torch.istft(spec * torch.cat([gains, gains[-1:]]).double(), CONFIG.n_fft, CONFIG.hop_length, CONFIG.win_length, window,
                           center=True, length=SR)  # fmt: skip
    torch.testing.assert_close(out.double(), expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("rule", ["ratio", "wiener", "binary"])
def test_true_target_mel_separates_two_tones(rule):
    """440 Hz target, 3 kHz interferer of equal level: the mixture scores 0 dB, each rule above 35 dB."""
    target, interferer = tone(440, 0.3, 2.0), tone(3000, 0.3, 2.0, phase=0.3)
    mixture = target + interferer
    out = mask_decode(log_mel_spectrogram(target[None], CONFIG), mixture[None], CONFIG, rule)[0]
    assert abs(si_sdr(mixture, target).item()) < 0.01
    assert si_sdr(out, target).item() > 35.0
    assert abs(rms(out).item() / rms(target).item() - 1.0) < 0.01  # the level is kept
    # the phase is kept: away from the edges the output lines up with the target sample for sample
    assert (out - target)[1000:-1000].abs().max().item() < 2e-3


def test_decoded_target_keeps_the_input_level():
    """decode_target levels the mixture for the codec and returns the target at the mixture's level."""
    codec = AudioCodec()
    for amplitude in (0.002, 0.05, 0.9):
        mixture = tone(440, amplitude) + tone(3000, amplitude, phase=0.3)
        scaled, gain = codec.level(mixture)
        assert abs(rms(scaled).item() - 0.1) < 1e-4
        mel = codec.log_mel(scaled[None])[0]  # the mixture itself as the target: the identity mask
        out = decode_target(mel, mixture, codec, "mask")
        assert (out - mixture).abs().max().item() < 2e-5 * amplitude / 0.002
        vocoded = torch.full_like(mixture, 0.1)  # a vocoder output at the codec's level
        vocoder_out = decode_target(mel, mixture, codec, "vocoder", vocoded=vocoded)
        torch.testing.assert_close(vocoder_out, torch.full_like(mixture, 0.1 / gain.item()))
    silent = torch.zeros(SR)
    assert torch.equal(decode_target(codec.log_mel(silent[None])[0], silent, codec), silent)


# ---------------------------------------------------------------- windows


def test_fade_weights_are_linear_ramps_at_inner_edges():
    up = torch.tensor([0.125, 0.375, 0.625, 0.875])
    middle = fade_weights(10, 4, first=False, last=False)
    torch.testing.assert_close(middle, torch.cat([up, torch.ones(2), up.flip(0)]))
    torch.testing.assert_close(
        fade_weights(10, 4, first=True, last=False), torch.cat([torch.ones(6), up.flip(0)])
    )
    torch.testing.assert_close(fade_weights(10, 4, first=False, last=True), torch.cat([up, torch.ones(6)]))
    torch.testing.assert_close(fade_weights(10, 0, first=False, last=False), torch.ones(10))


def test_window_starts():
    assert plan_windows(30, 40, 10) == [0]
    assert plan_windows(40, 40, 10) == [0]
    assert plan_windows(41, 40, 10) == [0, 30]
    assert plan_windows(100, 40, 10, unit=5) == [0, 30, 60]
    assert plan_windows(100, 40, 12, unit=8) == [0, 24, 48, 72]  # hops rounded down to whole units
    assert plan_windows(60, 40, 39, unit=8) == [0, 8, 16, 24]  # at least one unit


def test_cross_fade_of_windows_that_differ():
    """Window 0 holds 1, window 1 holds 3: across the overlap the output ramps from 1 to 3 as 1 + 2 r."""
    adder = OverlapAdd([0, 6], window=10, length=16, overlap=4)
    adder.add(0, torch.ones(10))
    adder.add(1, torch.full((10,), 3.0))
    ramp = torch.tensor([0.125, 0.375, 0.625, 0.875])
    expected = torch.cat([torch.ones(6), 1 + 2 * ramp, torch.full((6,), 3.0)])
    torch.testing.assert_close(adder.result(), expected)


def test_window_plan_on_its_three_grids():
    """Windows of 8 latent frames (8 x 4 x 160 samples) that hold their index recombine on every grid."""
    unit, window, overlap = 640, 5120, 1280
    plan = WindowPlan(length=12_000, window=window, overlap=overlap, hop=160, unit=unit)
    assert plan.starts == [0, 3840, 7680]
    assert len(plan) == 3
    wave = torch.arange(12_000, dtype=torch.float32)
    pieces = plan.split(wave)
    assert pieces.shape == (3, window)
    torch.testing.assert_close(pieces[1], wave[3840 : 3840 + window])
    assert torch.equal(pieces[2][12_000 - 7680 :], torch.zeros(window - (12_000 - 7680)))  # zero-padded
    outputs = plan.adders()
    for index in range(3):
        latents = torch.full((2, 8, 3), float(index))  # (C, T, F)
        outputs.add(index, latents, torch.full((4, 32), float(index)), torch.full((window,), float(index)))
    ramp = (torch.arange(2) + 0.5) / 2  # two latent frames of overlap
    expected = torch.cat([torch.zeros(6), ramp, torch.ones(4), 1 + ramp, torch.full((5,), 2.0)])
    latents = outputs.latents()
    assert latents.shape == (2, 19, 3)  # ceil(12,000 / 640)
    torch.testing.assert_close(latents[1, :, 2], expected)
    mel = outputs.mel.result()
    assert mel.shape == (4, 12_000 // 160 + 1)
    mel_ramp = (torch.arange(8) + 0.5) / 8
    torch.testing.assert_close(mel[0, 24:32], mel_ramp)
    samples = outputs.sample.result()
    assert samples.shape == (12_000,)
    torch.testing.assert_close(samples[3840:5120], (torch.arange(1280) + 0.5) / 1280)


def test_codec_window_plan_rounds_the_overlap_to_latent_frames():
    class Config:
        block_out_channels = (16, 16, 32)

    codec = AudioCodec(vae=type("Vae", (), {"config": Config()})())
    assert codec.window_plan(100_000, 8, 0.05).overlap == 640  # 800 samples -> one 640-sample frame
    assert codec.window_plan(100_000, 8, 10.0).overlap == 2560  # at most half a window


# ---------------------------------------------------------------- levels


def test_rms_snr_and_scaling_to_a_snr():
    assert rms(torch.tensor([3.0, -4.0, 0.0, 0.0])).item() == pytest.approx(2.5)
    target, interferer = tone(440, 1.0), tone(1000, 2.0)
    scaled = scale_to_snr(target, interferer, 10.0)
    assert rms(scaled).item() == pytest.approx(math.sqrt(0.5) / math.sqrt(10.0), rel=1e-4)
    assert snr_db(target, scaled).item() == pytest.approx(10.0, abs=1e-4)
    assert snr_db(tone(440, 1.0), tone(440, 0.1)).item() == pytest.approx(20.0, abs=1e-4)
    target, interferer = target.double(), interferer.double()  # in float64, to float64 precision
    ratio = (rms(target) / rms(scale_to_snr(target, interferer, 10.0))).item() ** 2
    assert ratio == pytest.approx(10.0, rel=1e-9)


def test_mixture_level_and_peak_limit():
    quiet = tone(440, 0.01)
    scaled, gain = normalize_mixture(quiet)
    assert rms(scaled).item() == pytest.approx(0.1, rel=1e-4)
    assert gain.item() == pytest.approx(0.1 / (0.01 / math.sqrt(2)), rel=1e-4)
    click = torch.zeros(10_000)
    click[5000] = 0.5  # rms 0.005: the level gain (20) would push the peak to 10
    scaled, gain = normalize_mixture(click)
    assert gain.item() == pytest.approx(0.99 / 0.5, rel=1e-6)
    assert scaled.abs().max().item() == pytest.approx(0.99, rel=1e-6)
    scaled, gain = normalize_mixture(torch.zeros(100))
    assert gain.item() == 1.0
    assert torch.equal(scaled, torch.zeros(100))
    scaled, gain = normalize_mixture(tone(440, 0.2), reference_rms=0.05, max_peak=0.5)
    assert rms(scaled).item() == pytest.approx(0.05, rel=1e-4)


def test_loudness_of_a_sine_follows_bs1770():
    rate = 48000
    t = np.arange(5 * rate) / rate
    for amplitude in (1.0, 0.1):
        expected = 20 * math.log10(amplitude) - 3.01
        assert loudness_lufs(amplitude * np.sin(2 * np.pi * 997 * t), rate) == pytest.approx(
            expected, abs=0.1
        )
    assert loudness_lufs(np.zeros(rate), rate) == -math.inf


def test_loudness_of_tensors_short_clips_and_silence():
    rate = 48000
    sine = np.sin(2 * np.pi * 997 * np.arange(rate) / rate)
    tensor = torch.from_numpy(sine).requires_grad_()
    assert loudness_lufs(tensor, rate) == pytest.approx(loudness_lufs(sine, rate), abs=1e-9)
    assert loudness_lufs(sine[None, :], rate) == pytest.approx(loudness_lufs(sine, rate), abs=1e-9)
    assert loudness_lufs(sine.astype(np.float32), rate) == pytest.approx(loudness_lufs(sine, rate), abs=1e-4)
    # measured in float64 whatever the input's type: float32 and int16 samples exactly as their float64 values
    sine32, pcm = sine.astype(np.float32), (sine * 16384).astype(np.int16)
    assert loudness_lufs(sine32, rate) == loudness_lufs(sine32.astype(np.float64), rate)
    assert loudness_lufs(pcm, rate) == loudness_lufs(pcm.astype(np.float64), rate)
    # 0.2 s of sine is padded with silence to one 0.4 s gating block: half the power, 3.01 dB less
    assert loudness_lufs(sine[: rate // 5], rate) == pytest.approx(-3.01 - 3.01, abs=0.1)
    last = np.zeros(int(0.4 * rate))  # exactly one gating block, all its energy in the last sample
    last[-1] = 1.0
    assert -60.0 < loudness_lufs(last, rate) < -30.0
    assert loudness_gain(np.zeros(rate), rate, -23.0) == 1.0
    assert loudness_gain(0.1 * sine, rate, -13.0) == pytest.approx(10 ** ((-13.0 + 23.01) / 20), rel=0.01)


def test_loudness_normalisation_reaches_the_target():
    rate = 48000
    wave = torch.from_numpy(0.3 * np.sin(2 * np.pi * 997 * np.arange(5 * rate) / rate))
    out = normalize_loudness(wave, rate, -23.0)
    assert loudness_lufs(out, rate) == pytest.approx(-23.0, abs=0.01)
    assert out.abs().max().item() == pytest.approx(10 ** ((-23.0 + 3.01) / 20), rel=0.02)  # 0.1002
    silence = torch.zeros(rate)
    assert torch.equal(normalize_loudness(silence, rate, -23.0), silence)


@pytest.mark.parametrize("rate", [0, -16000, 16000.5, None])
def test_bad_sample_rates_are_refused(rate):
    with pytest.raises(AudioInputError, match="^audio: .*sample_rate"):
        load_audio(np.zeros(100, np.float32), sample_rate=rate)
    with pytest.raises(AudioInputError, match="^mixture 3: .*sample_rate"):
        load_audio(np.zeros(100, np.float32), sample_rate=rate, name="mixture 3")


def test_load_audio_resamples_and_downmixes():
    t = np.arange(32000) / 32000
    sine = np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([0.6 * sine, 0.2 * sine]).astype(np.float32)  # the mono down-mix is 0.4 * sine
    out = load_audio(stereo, sample_rate=32000, target_sample_rate=16000).numpy()
    assert out.shape == (16000,)
    expected = 0.4 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    assert np.abs(out[200:-200] - expected[200:-200]).max() < 1e-3


# ---------------------------------------------------------------- separation metrics


def orthogonal_noise(reference: torch.Tensor, level_db: float, seed: int) -> torch.Tensor:
    """Noise orthogonal to each reference row, ``level_db`` relative to it."""
    noise = torch.randn(reference.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    reference = reference.double()
    noise -= (noise * reference).sum(-1, keepdim=True) / reference.pow(2).sum(-1, keepdim=True) * reference
    return (
        noise
        * reference.norm(dim=-1, keepdim=True)
        / noise.norm(dim=-1, keepdim=True)
        * 10 ** (level_db / 20)
    )


def test_si_sdr_improvement_of_a_known_estimate_is_plus_20_db():
    """Mixture: reference plus equal-power orthogonal noise (0 dB); estimate: the noise 20 dB down."""
    reference = torch.randn(3, SR, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    noise = orthogonal_noise(reference, 0.0, seed=1)
    mixture, estimate = reference + noise, reference + 0.1 * noise
    torch.testing.assert_close(
        si_sdr(mixture, reference), torch.zeros(3, dtype=torch.float64), atol=1e-6, rtol=0
    )
    torch.testing.assert_close(si_sdr(estimate, reference), torch.full((3,), 20.0, dtype=torch.float64))
    improvement = si_sdr_improvement(estimate, reference, mixture)
    torch.testing.assert_close(improvement, torch.full((3,), 20.0, dtype=torch.float64))
    # SDR's 512-tap filter also absorbs 512 / T = 3.2 % of the noise: 10 log10(1.0003 / 0.0097) = 20.14 dB for
    # the estimate, 10 log10(1.032 / 0.968) = 0.28 dB for the mixture, an improvement of 19.86 dB.
    assert sdr(estimate, reference).min().item() == pytest.approx(20.14, abs=0.05)
    assert sdr(mixture, reference).max().item() == pytest.approx(0.28, abs=0.05)
    assert sdr_improvement(estimate, reference, mixture).min().item() == pytest.approx(19.86, abs=0.05)
    torch.testing.assert_close(  # the improvement uses the metric's own 512-tap filter
        sdr_improvement(estimate, reference, mixture),
        sdr(estimate, reference) - sdr(mixture, reference),
        rtol=0,
        atol=0,
    )
    # a one-tap distortion filter is a gain, so SDR equals SI-SDR
    one_tap = sdr_improvement(estimate, reference, mixture, filter_length=1)
    torch.testing.assert_close(one_tap, torch.full((3,), 20.0, dtype=torch.float64), atol=1e-3, rtol=0)
    scores = evaluate_separation(estimate, reference, mixture)
    np.testing.assert_allclose(scores.per_item["si_sdri"], 20.0, atol=1e-6)
    np.testing.assert_allclose(scores.per_item["sdri"], 19.86, atol=0.05)
    assert scores.summary["si_sdri"].mean == pytest.approx(20.0, abs=1e-6)
    assert scores.n_silent_references == 0
    assert scores.n_silent_estimates == 0
    worse = evaluate_separation(mixture, reference, estimate, with_sdr=False)
    np.testing.assert_allclose(worse.per_item["si_sdri"], -20.0, atol=1e-6)
    assert set(worse.per_item) == {"si_sdr", "si_sdri"}


def test_si_sdr_is_scale_invariant_and_sign_sensitive():
    reference = tone(440, 0.5).double()
    noise = orthogonal_noise(reference[None], -10.0, seed=2)[0]
    assert si_sdr(3.0 * (reference + noise), reference).item() == pytest.approx(10.0, abs=1e-6)
    assert si_sdr(-(reference + noise), reference).item() == pytest.approx(10.0, abs=1e-6)
    assert si_sdr(noise, reference).item() < -100 + 1e-9  # orthogonal: nothing of the reference


def test_metric_conventions_at_the_edges():
    reference = torch.randn(2, SR, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    estimate = reference.clone()
    estimate[1] = 0.0
    values = si_sdr(estimate, reference)
    assert values[0].item() == 100.0
    assert values[1].item() == -100.0
    reference[0] = 1e-6  # mean power 1e-12, below the silence floor
    assert math.isnan(si_sdr(estimate, reference)[0].item())
    scores = evaluate_separation(estimate, reference, reference + 1.0, with_sdr=False)
    assert scores.n_silent_references == 1
    assert scores.n_silent_estimates == 1
    with pytest.raises(AudioInputError, match="share a non-empty shape"):
        si_sdr(torch.zeros(3, 10), torch.zeros(3, 11))
    with pytest.raises(AudioInputError, match="share a non-empty shape"):
        si_sdr(torch.zeros(3, 0), torch.zeros(3, 0))
    with pytest.raises(AudioInputError, match="share a non-empty shape"):
        si_sdr(torch.tensor(1.0), torch.tensor(1.0))
    assert si_sdr(torch.ones(1), torch.ones(1)).item() == 100.0  # one sample is a signal
    clean = torch.randn(1, SR, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    far = 1e-6 * clean + orthogonal_noise(clean, 0.0, seed=8)  # -120 dB: scored at the floor
    assert si_sdr(far, clean).item() == -100.0


# ---------------------------------------------------------------- masks at the input's rate


def test_input_rate_weights_at_the_model_rate_and_at_twice_it():
    base = mel_to_linear_weights(CONFIG)
    torch.testing.assert_close(input_rate_weights(CONFIG, CONFIG.n_fft, SR), base)
    double = input_rate_weights(CONFIG, 2 * CONFIG.n_fft, 2 * SR)  # the same 15.625 Hz bins, up to 16 kHz
    assert double.shape == (CONFIG.n_fft + 1, CONFIG.n_mels)
    torch.testing.assert_close(double[:513], base)
    high = high_band_row(CONFIG)  # above the model's Nyquist: the mean of the bands centred at 5.6-7.2 kHz
    torch.testing.assert_close(double[513:], high.expand(512, -1))
    half_bins = input_rate_weights(CONFIG, CONFIG.n_fft // 2, SR)  # bin k at 2k of the model's bins
    torch.testing.assert_close(half_bins[10], base[20])
    between = input_rate_weights(CONFIG, 2 * CONFIG.n_fft, SR)  # bin k halfway: the mean of two rows
    torch.testing.assert_close(between[21], 0.5 * (base[10] + base[11]))


@pytest.mark.parametrize("rate", [16000, 44100])
def test_unit_mask_returns_the_wave_at_any_rate(rate):
    wave = 0.1 * torch.randn(2, rate + 123, generator=torch.Generator().manual_seed(0))
    mask = torch.ones(CONFIG.n_mels, (rate + 123) * SR // rate // CONFIG.hop_length + 1)
    out = apply_mel_mask(mask, wave, rate, CONFIG, chunk_seconds=0.3)
    assert out.shape == wave.shape
    assert (out - wave).abs().max().item() < 1e-5
    half = apply_mel_mask(0.5 * mask, wave, rate, CONFIG)
    assert (half - 0.5 * wave).abs().max().item() < 1e-5


@pytest.mark.parametrize("rate", [16000, 32000])
def test_true_target_mask_separates_two_tones_at_the_input_rate(rate):
    """The mask from the 16 kHz mels, applied at the input's rate, keeps the 440 Hz tone (> 30 dB SI-SDR)."""
    target, interferer = tone(440, 0.3, 2.0), tone(3000, 0.3, 2.0, phase=0.3)
    mask = mixture_mel_mask(log_mel_spectrogram(target, CONFIG)[0], target + interferer, CONFIG, "ratio", 0.5)
    assert mask.shape == (CONFIG.n_mels, 2 * SR // CONFIG.hop_length)
    target_hi = tone(440, 0.3, 2.0, rate=rate)
    mixture_hi = target_hi + tone(3000, 0.3, 2.0, phase=0.3, rate=rate)
    out = apply_mel_mask(mask, mixture_hi[None], rate, CONFIG, chunk_seconds=0.5)[0]
    edge = rate // 10
    assert si_sdr(out[edge:-edge], target_hi[edge:-edge]).item() > 30.0
    assert abs(rms(out[edge:-edge]).item() / rms(target_hi).item() - 1.0) < 0.01


def test_sdr_of_a_batch_with_a_singular_item_and_of_any_batch_shape(monkeypatch):
    """When the batched solve fails on a singular item, the others are solved one by one at their values."""
    from flowsep.metrics import separation

    reference = torch.randn(3, SR, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    noise = orthogonal_noise(reference, -20.0, seed=5)
    batched = sdr(reference + noise, reference)
    torch.testing.assert_close(batched, torch.full((3,), 20.14, dtype=torch.float64), atol=0.05, rtol=0)
    torch.testing.assert_close(sdr(reference + noise, reference, filter_length=512), batched)
    solve = separation.signal_distortion_ratio

    def singular_second_item(estimate, target, filter_length):
        if estimate.dim() > 1:
            raise RuntimeError("linalg.solve: the solver failed because the input matrix is singular")
        if torch.equal(target, reference[1]):
            raise torch.linalg.LinAlgError("singular")
        return solve(estimate, target, filter_length=filter_length)

    monkeypatch.setattr(separation, "signal_distortion_ratio", singular_second_item)
    values = sdr(reference + noise, reference)
    assert math.isnan(values[1].item())
    torch.testing.assert_close(values[[0, 2]], batched[[0, 2]])
    monkeypatch.setattr(
        separation,
        "signal_distortion_ratio",
        lambda e, r, filter_length: torch.full(e.shape[:-1], float("nan")),
    )
    exact = sdr(
        reference, reference
    )  # rounding can make an exact estimate NaN: its SI-SDR says it is perfect
    torch.testing.assert_close(exact, torch.full((3,), 100.0, dtype=torch.float64))
    assert sdr(reference + noise, reference).isnan().all()
    monkeypatch.setattr(separation, "signal_distortion_ratio", solve)
    grid = torch.randn(2, 2, SR, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    grid_noise = orthogonal_noise(grid.reshape(4, SR), -20.0, seed=7).reshape(2, 2, SR)
    by_item = sdr(grid + grid_noise, grid)
    assert by_item.shape == (2, 2)
    torch.testing.assert_close(by_item, torch.full((2, 2), 20.14, dtype=torch.float64), atol=0.05, rtol=0)
    one_tap = sdr(reference + noise, reference, filter_length=1)  # a gain: SDR is SI-SDR
    torch.testing.assert_close(one_tap, torch.full((3,), 20.0, dtype=torch.float64), atol=1e-3, rtol=0)
