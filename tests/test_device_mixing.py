"""Mixtures made on the training device (flowsep.data.device_mixing) and their use by the trainer."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from accelerate.state import AcceleratorState, GradientState

from flowsep.audio import snr_db
from flowsep.data import ClipRecord
from flowsep.data.device_mixing import DeviceMixtures, compatibility
from flowsep.errors import RecipeError
from flowsep.testing import tiny_components
from flowsep.train import main as train_main
from flowsep.training import load_recipe
from flowsep.training.toy_corpus import make_toy_corpus

RATE = 8000
TINY = Path(__file__).resolve().parents[1] / "recipes" / "tiny"


def clip(root, name, label, seconds, recording=None, seed=0):
    wave = np.random.default_rng(seed).standard_normal(int(seconds * RATE)).astype(np.float32) * 0.1
    path = root / f"{name}.wav"
    sf.write(path, wave, RATE)
    extra = {"recording": recording} if recording else {}
    return ClipRecord(name, str(path), [f"a {label}", f"{label} sound"], [label], extra=extra)


@pytest.fixture
def records(tmp_path):
    specs = [("dog0", "dog", 1.0, "r1"), ("dog1", "dog", 0.3, None), ("bell0", "bell", 1.0, "r1"),
             ("bell1", "bell", 2.0, None), ("rain0", "rain", 1.5, None)]  # fmt: skip
    return [clip(tmp_path, name, label, s, rec, seed=k) for k, (name, label, s, rec) in enumerate(specs)]


def _is_crop_of(record, wave: torch.Tensor) -> bool:
    """Whether ``wave`` (up to a gain) is a window of the record's clip, zero-padded when the clip is short: the
    best match of its first 64 samples, checked over the whole window."""
    source = torch.nn.functional.pad(
        torch.from_numpy(sf.read(record.audio, dtype="float32")[0]), (0, len(wave))
    )
    heads = source.unfold(0, 64, 1)[: len(source) - len(wave) + 1]  # (positions, 64)
    score = (heads @ wave[:64]) / (heads.norm(dim=-1) * wave[:64].norm() + 1e-12)
    window = source[int(score.argmax()) : int(score.argmax()) + len(wave)]
    gain = (window @ wave) / (window @ window + 1e-12)
    return bool((window * gain - wave).abs().max() < 1e-4 * (wave.abs().max() + 1e-9))


def mixtures(records, **options):
    return DeviceMixtures(records, sample_rate=RATE, segment_seconds=0.5, seed=1, **options)


def test_compatibility_excludes_shared_labels_and_recordings(records):
    """Guards the pairing rule on the device: no shared label, never the same recording (dog0 and bell0 are)."""
    allowed = compatibility(records)
    assert not allowed[0, 1] and not allowed[0, 0]  # two dogs; itself
    assert not allowed[0, 2]  # one recording
    assert allowed[0, 3] and allowed[1, 2] and allowed[4, 0]


def test_batches_follow_the_mixing_rules_and_are_reproducible(records):
    """Guards the device mixtures: parts add up, the SNR is the drawn one, interferers are allowed, crops come
    from the clip (a short clip is zero-padded) and a batch is fixed by seed, epoch and indices."""
    data = mixtures(records, snr_range=(-5.0, 5.0))
    by_id = {record.id: k for k, record in enumerate(records)}
    batch = data.collate([0, 1, 2, 3, 4, 0])
    assert batch["mixture"].shape == (6, 4000)
    assert torch.equal(batch["mixture"], batch["target"] + batch["interference"])
    assert torch.allclose(snr_db(batch["target"], batch["interference"]), batch["snr_db"], atol=0.05)
    assert ((batch["snr_db"] >= -5) & (batch["snr_db"] <= 5)).all()
    assert batch["id"] == [records[k].id for k in (0, 1, 2, 3, 4, 0)]
    assert all(caption in records[by_id[i]].captions for caption, i in zip(batch["caption"], batch["id"]))
    assert (batch["target"][1, 2400:] == 0).all() and (batch["target"][1, :2400] != 0).any()  # 0.3 s clip
    assert all(_is_crop_of(records[k], batch["target"][row]) for row, k in enumerate((0, 1, 2, 3, 4)))
    again = data.collate([0, 1, 2, 3, 4, 0])
    assert torch.equal(again["mixture"], batch["mixture"])
    data.set_epoch(1)
    assert not torch.equal(data.collate([0, 1, 2, 3, 4, 0])["mixture"], batch["mixture"])
    allowed = compatibility(records)
    for epoch in range(8):  # every interferer is allowed for its target
        data.set_epoch(epoch)
        drawn = data.collate(list(range(5)))
        for target, interference in enumerate(drawn["interference"]):
            matches = [k for k in range(5) if allowed[target, k] and _is_crop_of(records[k], interference)]
            assert matches, (epoch, target)


def test_band_limit_reaches_about_its_share_of_rows(records):
    """Guards per-row band-limiting: at p = 0.5 about half of the targets lose everything above 3.4 kHz."""
    data = mixtures(records, bandlimit_prob=0.5, bandlimit_hz=(3000.0, 3100.0))
    batch = data.collate([3] * 400)
    spectrum = torch.fft.rfft(batch["target"].double(), dim=-1).abs() ** 2
    high = spectrum[:, 1700:].sum(-1) / spectrum.sum(-1)  # above 3.4 kHz
    share = float((high < 1e-6).double().mean())
    assert share == pytest.approx(0.5, abs=0.08)


def test_flow_stage_trains_with_mixtures_on_the_device(tmp_path):
    """Guards the trainer's use of device mixtures: a 2-step log-mel flow run with data.mix_on_device writes its
    model, and the recipe check refuses loader workers with it."""
    train, valid = make_toy_corpus(tmp_path / "toy", clips_per_sound=2, seconds=0.5)
    parts = tiny_components(with_vocoder=False)
    parts["text_encoder"].save_pretrained(tmp_path / "t5")
    parts["tokenizer"].save_pretrained(tmp_path / "t5")
    overrides = {
        "data.train": f"[{train}]", "data.valid": f"[{valid}]", "data.mix_on_device": "true",
        "flow.codec": "mel", "flow.text_encoder": str(tmp_path / "t5"), "model.text_embed_dim": "32",
        "model.latent_channels": "1", "model.latent_frequency_bins": "64", "model.sample_size": "32",
        "model.patch_size_time": "4", "model.patch_size_freq": "16",
    }  # fmt: skip
    args = [str(TINY / "flow.yaml"), "--output-dir", str(tmp_path / "run")]
    for key, value in overrides.items():
        args += ["--set", f"{key}={value}"]
    try:
        assert train_main(args) == 0
    finally:
        AcceleratorState._reset_state(True)
        GradientState._reset_state()
    assert (tmp_path / "run" / "transformer" / "diffusion_pytorch_model.safetensors").is_file()
    with pytest.raises(RecipeError, match="mix_on_device"):
        load_recipe(TINY / "flow.yaml", {"data.mix_on_device": True, "data.num_workers": 2})
