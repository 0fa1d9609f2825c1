"""Known answers for the flow stage's waveform loss (``flow.waveform_loss_weight``): -SI-SDR in dB of the
mask-decoded predicted target, capped at ``SI_SDR_CAP_DB`` row by row, through the real codec and mask decoder.

A predicted latent equal to the mixture's own latent gives a mask of one, so the decoded estimate is the mixture
(to 1e-7): with the mixture equal to the target the estimate is perfect, and with an orthogonal interferer at a
known level it scores exactly that level.
"""

import math

import pytest
import torch

from flowsep.decoding import mask_decode
from flowsep.metrics import si_sdr
from flowsep.models import LogMelLatent
from flowsep.training.data import make_codec
from flowsep.training.recipe import FlowStageConfig, Recipe
from flowsep.training.stage_flow import SI_SDR_CAP_DB, FlowStage

RATE = 16000


def sine(frequency: float, amplitude: float) -> torch.Tensor:
    """One second of a sine with a whole number of periods: sines of different frequencies are orthogonal."""
    t = torch.arange(RATE, dtype=torch.float64) / RATE
    return (amplitude * torch.sin(2 * math.pi * frequency * t)).float()


@pytest.fixture(scope="module")
def stage() -> FlowStage:
    """A flow stage with the log-mel codec (no VAE, no text encoder: only the waveform loss is used)."""
    recipe = Recipe(stage="flow", output_dir="unused", flow=FlowStageConfig(codec="mel"))
    stage = FlowStage(recipe)
    stage.codec = make_codec(recipe.data, LogMelLatent(recipe.data.mel.n_mels))
    return stage


def waveform_loss(stage: FlowStage, mixtures: torch.Tensor, targets: torch.Tensor) -> float:
    """The loss of a prediction equal to the mixtures' latents (the estimate is then the mixture)."""
    predicted, _ = stage.codec.encode(mixtures)  # (B, 1, T, F)
    return float(stage._waveform_loss(predicted, {"mixture": mixtures, "target": targets}))


def test_a_perfect_estimate_hits_the_cap_exactly(stage):
    """Guards against the cap removed or moved (the estimate is ~88 dB: uncapped, the loss would be -88), and a
    flipped sign (a perfect row must give the lowest loss, -30)."""
    target = sine(500, 0.1)[None]
    assert SI_SDR_CAP_DB == 30.0
    assert waveform_loss(stage, target, target) == -30.0


@pytest.mark.parametrize("scale", [2.0, 0.5, 10.0])
def test_a_scaled_copy_of_the_target_scores_as_perfect(stage, scale):
    """Guards against SI-SDR replaced by a plain SNR (or an SDR that is not scale-invariant): an estimate that is
    the target at another gain scores as perfect; under SNR a gain of 2 would give 6.0 dB, not the cap."""
    target = sine(500, 0.1)[None]
    assert waveform_loss(stage, target, scale * target) == -30.0


def test_rows_are_capped_one_by_one_and_an_error_at_a_known_level_scores_that_level(stage):
    """Guards against the cap applied to the batch mean instead of each row (mean(88, 10) capped is 30, not 20),
    a sum over rows instead of the mean, and a loss that ignores the interference."""
    target = sine(500, 0.1)
    interference = sine(2000, 0.1 / math.sqrt(10.0))  # 10 dB below the target, orthogonal to it
    mixtures = torch.stack([target, target + interference])
    targets = torch.stack([target, target])
    assert waveform_loss(stage, mixtures[1:], targets[1:]) == pytest.approx(-10.0, abs=1e-3)
    assert waveform_loss(stage, mixtures, targets) == pytest.approx(-(30.0 + 10.0) / 2, abs=1e-3)


def test_the_recipes_mask_rule_decodes_the_estimate():
    """Guards ``flow.mask_rule`` reaching the loss's mask decoder: a prediction that keeps part of an interferer
    scores as the rule asked for decodes it, and the ratio and binary rules score it differently."""
    target, interference = sine(500, 0.1), sine(2000, 0.05)
    mixture = (target + interference)[None]
    losses = {}
    for rule in ("ratio", "binary"):
        recipe = Recipe(stage="flow", output_dir="unused", flow=FlowStageConfig(codec="mel", mask_rule=rule))
        ruled = FlowStage(recipe)
        ruled.codec = make_codec(recipe.data, LogMelLatent(recipe.data.mel.n_mels))
        predicted, _ = ruled.codec.encode(target[None] + 0.3 * interference[None])
        estimate = mask_decode(ruled.codec.decode(predicted), mixture, ruled.mel, rule)
        losses[rule] = float(ruled._waveform_loss(predicted, {"mixture": mixture, "target": target[None]}))
        assert losses[rule] == pytest.approx(-float(si_sdr(estimate, target[None]).clamp(max=30.0)), abs=1e-4)
    assert abs(losses["ratio"] - losses["binary"]) > 0.5
