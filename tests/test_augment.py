"""Random band-limiting of training sources (flowsep.data.augment) and its use in MixtureDataset."""

import numpy as np
import pytest
import torch
from test_data import make_corpus, mixtures

from flowsep.audio import snr_db
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
