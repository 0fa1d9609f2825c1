"""Random band-limiting of training sources (flowsep.data.augment) and its use in MixtureDataset."""

import numpy as np
import pytest
import torch
from test_data import make_corpus, mixtures

from flowsep.audio import load_audio, snr_db
from flowsep.data import write_manifest
from flowsep.data.augment import ROLL_OFF_HZ, band_limit, random_band_limit


def energy_above(wave: torch.Tensor, hz: float, rate: int) -> float:
    """Fraction of the energy of ``(T,)`` above ``hz``."""
    power = torch.fft.rfft(wave.double()).abs() ** 2
    freqs = torch.fft.rfftfreq(wave.shape[-1], 1.0 / rate)
    return float(power[freqs > hz].sum() / power.sum())


def test_band_limit_keeps_the_pass_band_exactly_and_removes_the_stop_band():
    rate = 16000
    t = torch.arange(rate, dtype=torch.float64) / rate
    low, high = torch.sin(2 * torch.pi * 1000 * t), torch.sin(2 * torch.pi * 3500 * t)
    out = band_limit((low + high).float(), 2000.0, rate)
    assert torch.allclose(out.double(), low, atol=1e-5)  # 1 kHz untouched, 3.5 kHz gone
    assert energy_above(out, 2000.0 + ROLL_OFF_HZ, rate) < 1e-10


def test_band_limit_gain_is_the_raised_cosine_bin_by_bin():
    """Known answer for every bin of an odd-length noise: gain 1 up to the cutoff, 0.5 (1 + cos(pi x)) with
    x = (f - cutoff) / ROLL_OFF_HZ in the roll-off, 0 above; same length and dtype. Guards against the roll-off
    position unclamped below the cutoff (tones at even multiples of the roll-off below it pass unchanged), its
    width scaled the other way, the inverse FFT's length left to default (odd lengths lose a sample) and the
    result left in float64."""
    rate, cutoff, length = 8000, 1234.5, 8001
    wave = torch.from_numpy(np.random.default_rng(5).standard_normal(length).astype(np.float32))
    out = band_limit(wave, cutoff, rate)
    assert out.shape == wave.shape and out.dtype == torch.float32
    freqs = np.fft.rfftfreq(length, 1.0 / rate)
    x = np.clip((freqs - cutoff) / ROLL_OFF_HZ, 0.0, 1.0)
    gain = 0.5 * (1.0 + np.cos(np.pi * x))
    expected = np.fft.rfft(wave.double().numpy()) * gain
    np.testing.assert_allclose(np.fft.rfft(out.double().numpy()), expected, atol=2e-3)  # float32 rounding


def test_random_band_limit_draws_nothing_when_off_and_always_cuts_at_probability_one():
    wave = torch.from_numpy(np.random.default_rng(0).standard_normal(8000).astype(np.float32))
    rng = np.random.default_rng(1)
    assert random_band_limit(wave, rng, 0.0, (1000.0, 2000.0), 8000) is wave
    assert rng.random() == np.random.default_rng(1).random()  # the generator was not advanced
    out = random_band_limit(wave, np.random.default_rng(2), 1.0, (1000.0, 2000.0), 8000)
    assert energy_above(wave, 2000.0 + ROLL_OFF_HZ, 8000) > 0.4
    assert energy_above(out, 2000.0 + ROLL_OFF_HZ, 8000) < 1e-10


def test_mixtures_band_limit_every_source_and_keep_their_sum_and_snr(tmp_path):
    records = make_corpus(tmp_path)
    plain = mixtures(records)
    limited = mixtures(records, bandlimit_prob=1.0, bandlimit_hz=(1000.0, 1000.0))
    cut = 1000.0 + ROLL_OFF_HZ
    broadband = 0
    for i in range(len(plain)):
        item, original = limited[i], plain[i]
        assert item["id"] == original["id"]  # the target is drawn before any augmentation
        broadband += energy_above(original["target"], cut, 8000) > 0.1
        assert energy_above(item["target"], cut, 8000) < 1e-8
        assert energy_above(item["interference"], cut, 8000) < 1e-8
        assert torch.equal(item["mixture"], item["target"] + item["interference"])
        assert float(snr_db(item["target"], item["interference"])) == pytest.approx(item["snr_db"], abs=0.1)
    assert broadband >= 2  # the noise classes really had energy above the cutoff


def test_band_limiting_off_leaves_mixtures_unchanged(tmp_path):
    records = make_corpus(tmp_path)
    default, off = mixtures(records, seed=3), mixtures(records, seed=3, bandlimit_prob=0.0)
    for i in range(len(default)):
        assert torch.equal(default[i]["mixture"], off[i]["mixture"])


# ---------------------------------------------------------------- statistics and scope


def test_random_band_limit_applies_at_its_probability_with_cutoffs_drawn_in_the_range():
    """A seeded draw at p = 0.3: 2,000 calls band-limit 30% of the waves (binomial sd 1%), each applied one at
    a cutoff inside the range, spread over it. Guards against the probability ignored (always or never
    applied), a comparison turned around (p = 0.7 applied), and cutoffs drawn outside the range or fixed."""
    rate, probability, low, high = 8000, 0.3, 1000.0, 3000.0
    wave = torch.from_numpy(np.random.default_rng(0).standard_normal(512).astype(np.float32))
    rng, applied, edges = np.random.default_rng(4), 0, []
    freqs = torch.fft.rfftfreq(wave.shape[-1], 1.0 / rate)
    for _ in range(2000):
        out = random_band_limit(wave, rng, probability, (low, high), rate)
        if out is wave:
            continue
        applied += 1
        power = torch.fft.rfft(out.double()).abs() ** 2
        edges.append(float(freqs[power > 1e-6 * power.max()].max()))  # the highest bin left: in the roll-off
    assert abs(applied / 2000 - probability) < 0.04
    assert low <= min(edges) and max(edges) <= high + ROLL_OFF_HZ
    assert np.std(edges) > 0.2 * (high - low)  # drawn anew each time (uniform: sd 0.29 of the range)


def test_mixtures_band_limit_each_source_at_the_probability(tmp_path):
    """Through MixtureDataset at ``bandlimit_prob = 0.5``: about half of the targets over five epochs are cut
    (the sources are drawn before augmentation, so a cut target differs from the plain one). Guards against the
    dataset dropping its probability (always 1, or the default 0)."""
    records = make_corpus(tmp_path)
    plain, limited = mixtures(records), mixtures(records, bandlimit_prob=0.5, bandlimit_hz=(1000.0, 1000.0))
    cut = total = 0
    for epoch in range(5):
        plain.set_epoch(epoch), limited.set_epoch(epoch)
        for i in range(len(plain)):
            original, item = plain[i]["target"], limited[i]["target"]
            assert item.shape == original.shape
            cut += not torch.equal(item, original)
            total += 1
    assert 0.3 < cut / total < 0.7  # 50 targets: binomial sd 7%


def test_validation_mixtures_are_free_of_training_augmentation(tmp_path):
    """The recipe's training mixtures are band-limited (``data.bandlimit_prob: 1``), its validation mixtures are
    not, and the test mixtures of a built benchmark are the clips themselves. Guards against training-only
    augmentation applied to validation (or benchmark) mixtures, which would bias every validation loss."""
    from flowsep.evaluation import BuildSpec, build_benchmark, read_benchmark
    from flowsep.spectrogram import MelConfig
    from flowsep.training.data import build_mixtures
    from flowsep.training.recipe import DataConfig

    records = make_corpus(tmp_path)
    manifest = write_manifest(records, tmp_path / "clips.jsonl")
    data = DataConfig(train=[str(manifest)], valid=[str(manifest)], segment_seconds=0.5, bandlimit_prob=1.0,
                      bandlimit_hz=(1000.0, 1000.0), mel=MelConfig(sample_rate=8000, fmax=4000.0))  # fmt: skip
    cut = 1000.0 + ROLL_OFF_HZ
    train, valid = build_mixtures(data, train=True, seed=0), build_mixtures(data, train=False, seed=0)
    broadband = 0
    for i in range(len(valid)):
        assert energy_above(train[i]["target"], cut, 8000) < 1e-8
        assert energy_above(train[i]["interference"], cut, 8000) < 1e-8
        broadband += energy_above(valid[i]["target"], cut, 8000) > 0.1
        broadband += energy_above(valid[i]["interference"], cut, 8000) > 0.1
    assert broadband >= 4  # the noise classes keep their energy above the cutoff in validation
    spec = BuildSpec(
        "manifest", str(manifest), str(tmp_path / "bench"), segment_seconds=0.5, count=4, snr=(0.0, 0.0)
    )
    for item in read_benchmark(build_benchmark(spec)).items:  # the reference is the clip's start at a gain
        reference = load_audio(item.reference)
        clip = next(r for r in records if r.id == item.extra["target_id"])
        segment = load_audio(clip.audio)[: reference.shape[-1]]
        gain = float(reference @ segment / (segment @ segment))
        assert float((reference - gain * segment).abs().max()) < 1e-3
