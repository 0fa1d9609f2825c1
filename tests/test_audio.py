"""The input contract of flowsep.audio and the mel front end."""

import numpy as np
import pytest
import soundfile as sf
import torch
from bigvgan.meldataset import mel_spectrogram as bigvgan_mel

from flowsep.audio import load_audio, normalize_mixture, save_audio, scale_to_snr, snr_db
from flowsep.errors import AudioInputError
from flowsep.spectrogram import MelConfig, log_mel_spectrogram


def test_mel_matches_bigvgan():
    torch.manual_seed(0)
    t = torch.arange(32000) / 16000
    wave = (0.4 * torch.sin(2 * torch.pi * 330 * t) + 0.1 * torch.randn_like(t)).unsqueeze(0)
    ours = log_mel_spectrogram(wave, MelConfig())
    theirs = bigvgan_mel(wave, 1024, 64, 16000, 160, 1024, 0, 8000)
    assert ours.shape == (1, 64, 200)
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_ten_seconds_give_1024_frames():
    assert log_mel_spectrogram(torch.zeros(163840)).shape == (1, 64, 1024)


def test_stereo_file_is_downmixed_and_resampled(tmp_path):
    left = np.full(44100, 0.5, np.float32)
    sf.write(tmp_path / "st.flac", np.stack([left, -0.1 * np.ones_like(left)], axis=1), 44100)
    wave = load_audio(tmp_path / "st.flac", target_sample_rate=16000)
    assert wave.shape == (16000,)
    assert abs(float(wave[8000]) - 0.2) < 1e-3


def test_array_layouts_and_integer_scaling():
    samples_first = np.zeros((1000, 2), np.float32)
    samples_first[:, 0] = 1.0
    assert torch.allclose(load_audio(samples_first, 16000), torch.full((1000,), 0.5))
    channels_first = torch.ones(2, 1000)
    assert load_audio(channels_first, 16000).shape == (1000,)
    ints = np.full(100, 16384, np.int16)
    assert abs(float(load_audio(ints, 16000)[0]) - 0.5) < 1e-3


@pytest.mark.parametrize(
    "source, rate, message",
    [
        ("does-not-exist.wav", None, "not found"),
        (np.zeros(0, np.float32), 16000, "empty"),
        (np.array([0.0, np.nan], np.float32), 16000, "NaN or Inf"),
        (np.array([0.0, np.inf], np.float32), 16000, "NaN or Inf"),
        (np.zeros(10, np.float32), None, "needs its sample_rate"),
        (np.zeros((2, 2, 2), np.float32), 16000, "expected shape"),
        (np.array(["a", "b"]), 16000, "must be numbers"),
        (42, 16000, "expected a file path"),
        (np.zeros(10, np.float32), -5, "positive integer"),
    ],
)
def test_bad_audio_gives_one_clear_error(source, rate, message):
    with pytest.raises(AudioInputError, match=message):
        load_audio(source, rate)


def test_unreadable_file(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    with pytest.raises(AudioInputError, match="cannot read"):
        load_audio(bad)


def test_save_is_atomic_and_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "out.wav"
    save_audio(target, torch.zeros(100), 16000)
    before = target.read_bytes()

    def broken_write(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(sf, "write", broken_write)
    with pytest.raises(OSError):
        save_audio(target, torch.ones(100) * 0.5, 16000)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]


def test_snr_scaling_and_mixture_level():
    torch.manual_seed(0)
    target, noise = torch.randn(16000), torch.randn(16000) * 3
    scaled = scale_to_snr(target, noise, -7.5)
    assert abs(float(snr_db(target, scaled)) + 7.5) < 1e-3
    levelled, gain = normalize_mixture(target * 0.001)
    assert abs(float(levelled.pow(2).mean().sqrt()) - 0.1) < 1e-3 or float(levelled.abs().max()) <= 0.99
    silent, gain = normalize_mixture(torch.zeros(100))
    assert float(gain) == 1.0 and float(silent.abs().max()) == 0.0


def test_saved_files_get_the_usual_permissions(tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        save_audio(tmp_path / "p.wav", torch.zeros(10), 16000)
    finally:
        os.umask(mask)
    assert (tmp_path / "p.wav").stat().st_mode & 0o777 == 0o644
