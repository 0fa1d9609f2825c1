"""Metrics: SI-SDR/SDR known values, Fréchet distance closed forms, CLAPScore with a tiny random CLAP, FAD errors."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import math
import sys
import time
import types

import numpy as np
import pytest
import torch

from flowsep.errors import CheckpointError
from flowsep.metrics import (
    SDR_CEILING_DB,
    CLAPScorer,
    FrechetAudioDistance,
    embedding_statistics,
    evaluate_separation,
    frechet_distance,
    frechet_distance_from_embeddings,
    sdr,
    separation,
    si_sdr,
    si_sdr_improvement,
    summarize,
)
from flowsep.metrics.separation import is_silent

SR = 16000


@pytest.fixture
def signals():
    generator = torch.Generator().manual_seed(0)
    reference = torch.randn(3, SR, generator=generator)  # (N, T)
    noise = torch.randn(3, SR, generator=generator)
    return reference, noise


# ---------------------------------------------------------------- separation


def test_scaled_copy_reaches_the_ceiling(signals):
    reference, _ = signals
    assert torch.equal(
        si_sdr(0.3 * reference, reference), torch.full((3,), SDR_CEILING_DB, dtype=torch.float64)
    )
    assert torch.equal(sdr(0.5 * reference, reference), torch.full((3,), SDR_CEILING_DB, dtype=torch.float64))


def test_known_noise_level_gives_expected_db(signals):
    reference, noise = signals
    noise = (
        noise - (noise * reference).sum(-1, keepdim=True) / reference.pow(2).sum(-1, keepdim=True) * reference
    )
    noise = noise * reference.norm(dim=-1, keepdim=True) / noise.norm(dim=-1, keepdim=True) * 10 ** (-20 / 20)
    values = si_sdr(reference + noise, reference)  # noise orthogonal to the reference, 20 dB below it
    assert torch.allclose(values, torch.full_like(values, 20.0), atol=0.1)
    # SDR's 512-tap distortion filter also absorbs about 512 / T of the noise: +0.14 dB at T = 1 s.
    assert torch.allclose(sdr(reference + noise, reference), torch.full_like(values, 20.14), atol=0.05)


def test_improvement_of_the_mixture_itself_is_zero(signals):
    reference, noise = signals
    mixture = reference + noise
    assert torch.equal(si_sdr_improvement(mixture, reference, mixture), torch.zeros(3, dtype=torch.float64))
    scores = evaluate_separation(mixture, reference, mixture)
    assert np.array_equal(scores.per_item["sdri"], np.zeros(3))


def test_silent_reference_is_nan_and_counted(signals):
    reference, noise = signals
    reference[1] = 0.0
    estimate = reference + 0.1 * noise
    estimate[2] = 0.0  # a silent estimate scores the floor
    scores = evaluate_separation(estimate, reference, reference + noise)
    assert scores.n_silent_references == 1 and scores.n_silent_estimates == 1
    for name in ("si_sdr", "sdr", "si_sdri", "sdri"):
        assert math.isnan(scores.per_item[name][1])
        assert scores.summary[name].n == 2 and scores.summary[name].n_nan == 1
    assert scores.per_item["si_sdr"][2] == scores.per_item["sdr"][2] == -SDR_CEILING_DB
    assert scores.summary["si_sdr"].mean == pytest.approx((scores.per_item["si_sdr"][0] - SDR_CEILING_DB) / 2)


def test_silence_is_a_mean_power_strictly_below_the_threshold_of_minus_100_db():
    """A signal whose mean power equals the threshold is not silent; a hair below it is (exact binary values)."""
    assert separation.SILENCE_POWER == 1e-10
    wave = torch.full((2, 8), 2.0**-17, dtype=torch.float64)  # mean power 2**-34, exactly
    wave[1] *= 1 - 2.0**-10
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(separation, "SILENCE_POWER", 2.0**-34)
        assert is_silent(wave).tolist() == [False, True]


def test_summary_statistics():
    summary = summarize([1.0, 2.0, 6.0, float("nan")])
    assert (summary.mean, summary.median, summary.n, summary.n_nan) == (3.0, 2.0, 3, 1)
    assert summary.std == pytest.approx(np.std([1.0, 2.0, 6.0]))


# ---------------------------------------------------------------- Fréchet distance


def test_frechet_distance_closed_form_for_diagonal_gaussians():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var1, var2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)  # = 5 + 1 + 1 + 4
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(mu1, np.diag(var1), mu1, np.diag(var1)) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_of_embedding_sets_and_npy_cache(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 8))
    b = rng.normal(loc=0.5, size=(300, 8))
    assert frechet_distance_from_embeddings(a, a) == pytest.approx(0.0, abs=1e-8)
    mu_a, sigma_a = embedding_statistics(a)
    mu_b, sigma_b = embedding_statistics(b)
    expected = frechet_distance(mu_a, sigma_a, mu_b, sigma_b)
    assert expected > 1.0  # the mean shift alone is 8 * 0.5 ** 2 = 2
    np.save(tmp_path / "reference.npy", a)
    np.save(tmp_path / "estimate.npy", b)
    # With both sets cached no backbone is loaded: an empty ckpt_dir does not matter.
    fad = FrechetAudioDistance("vggish", ckpt_dir=tmp_path / "no-weights")
    result = fad.score(
        None, None, reference_cache=tmp_path / "reference.npy", estimate_cache=tmp_path / "estimate.npy"
    )
    assert result.value == pytest.approx(expected, rel=1e-9)
    assert (result.backbone, result.n_reference, result.n_estimate) == ("vggish", 200, 300)


def test_fad_embeds_clips_at_the_backbone_rate_and_caches_them(tmp_path, monkeypatch):
    class StubPackageFAD:  # stands in for frechet_audio_distance.FrechetAudioDistance (no weights here)
        def __init__(self, ckpt_dir, model_name, sample_rate):
            torch.hub.set_dir(ckpt_dir)  # as the package does
            self.sample_rate = sample_rate

        def get_embeddings(self, x, sr):
            (wave,) = x
            assert sr == self.sample_rate == 16000 and wave.shape == (sr,)
            return np.stack([wave[4000:4004], wave[12000:12004]])  # (frames=2, D=4), away from the edges

    monkeypatch.setitem(
        sys.modules, "frechet_audio_distance", types.SimpleNamespace(FrechetAudioDistance=StubPackageFAD)
    )
    (tmp_path / "Cnn14_16k_mAP%3D0.438.pth").touch()
    hub_dir = torch.hub.get_dir()
    clips = [np.full(8000, value, np.float32) for value in (0.1, 0.2, 0.3)]  # 1 s at 8 kHz
    embeddings = FrechetAudioDistance("pann", ckpt_dir=tmp_path).embed(
        clips, 8000, cache=tmp_path / "set.npy"
    )
    assert torch.hub.get_dir() == hub_dir
    assert embeddings.shape == (6, 4) and np.allclose(embeddings[::2, 0], [0.1, 0.2, 0.3], atol=1e-3)
    cached = FrechetAudioDistance("pann", ckpt_dir=tmp_path / "empty").embed(None, cache=tmp_path / "set.npy")
    assert np.array_equal(cached, embeddings)


@pytest.mark.parametrize("backbone", ["vggish", "pann", "clap", "encodec"])
def test_fad_missing_weights_fail_fast_with_a_clear_error(tmp_path, backbone):
    fad = FrechetAudioDistance(backbone, ckpt_dir=tmp_path)
    start = time.monotonic()
    with pytest.raises(CheckpointError, match=f"{backbone}.*weights not found: {tmp_path}"):
        fad.embed([np.zeros(SR, np.float32)], sample_rate=SR)
    assert time.monotonic() - start < 5.0


# ---------------------------------------------------------------- CLAP


@pytest.fixture(scope="module")
def tiny_clap(tmp_path_factory):
    """A seeded tiny random CLAP (hidden 32, 2 layers) with a tokenizer trained here, saved as a checkpoint folder."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import (
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        ClapProcessor,
        PreTrainedTokenizerFast,
    )

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    sentences = [
        "a dog barking",
        "a cat meowing loudly",
        "rain falling on a roof",
        "people talking in a room",
    ]
    tokenizer.train_from_iterator(
        sentences, trainers.WordPieceTrainer(vocab_size=64, special_tokens=specials)
    )
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        model_max_length=32,
    )
    feature_extractor = ClapFeatureExtractor(
        feature_size=16,
        sampling_rate=48000,
        hop_length=480,
        max_length_s=1,
        fft_window_size=1024,
        truncation="rand_trunc",
        padding="repeatpad",
    )
    config = ClapConfig(
        text_config={
            "vocab_size": tokenizer.vocab_size,
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "intermediate_size": 37,
            "max_position_embeddings": 40,
            "pad_token_id": 0,
            "projection_dim": 16,
        },
        audio_config={
            "num_mel_bins": 16,
            "spec_size": 64,
            "window_size": 4,
            "depths": [1, 1],
            "num_attention_heads": [2, 2],
            "patch_embeds_hidden_size": 16,
            "hidden_size": 32,
            "projection_dim": 16,
        },
        projection_dim=16,
    )
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-clap")
    ClapModel(config).save_pretrained(folder)
    ClapProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def test_clap_scores(tiny_clap):
    scorer = CLAPScorer(tiny_clap, batch_size=2)
    assert scorer.sample_rate == 48000
    generator = torch.Generator().manual_seed(0)
    audio = 0.1 * torch.randn(3, 2 * SR, generator=generator)  # (N, T) at 16 kHz, resampled to 48 kHz, > 1 s
    result = scorer.clap_score(audio, ["a dog barking", "rain on a roof", "people talking"], sample_rate=SR)
    assert result.checkpoint == str(tiny_clap) and result.metric == "clap_score"
    assert result.scores.shape == (3,) and np.all(np.abs(result.scores) <= 100.0)
    assert len(set(np.round(result.scores, 4))) == 3  # the scores depend on the inputs
    same = scorer.clap_score_a(audio, audio.clone(), sample_rate=SR)
    assert np.allclose(same.scores, 100.0, atol=1e-3) and same.checkpoint == str(tiny_clap)
    other = scorer.clap_score_a(audio, audio.roll(1, dims=0), sample_rate=SR)
    assert np.all(other.scores < 100.0 - 1e-3)
    # A long clip is cropped at random by the feature extractor: the seed makes the score reproducible.
    again = scorer.clap_score(audio, ["a dog barking", "rain on a roof", "people talking"], sample_rate=SR)
    assert np.array_equal(again.scores, result.scores)


def test_clap_missing_checkpoint_is_a_clear_error(tmp_path):
    start = time.monotonic()
    with pytest.raises(CheckpointError, match="cannot load CLAP checkpoint"):
        CLAPScorer(tmp_path / "missing")
    with pytest.raises(CheckpointError, match="flowsep-tests/uncached-clap"):
        CLAPScorer("flowsep-tests/uncached-clap")  # a hub id, offline (HF_HUB_OFFLINE=1) and not in the cache
    assert time.monotonic() - start < 10.0
