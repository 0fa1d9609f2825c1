"""The stage task of each trainable ``stage`` of a recipe (``assemble`` trains nothing)."""

from .stage_flow import FlowStage
from .stage_vae import VAEStage
from .stage_vocoder import VocoderStage

STAGE_TASKS = {"vae": VAEStage, "flow": FlowStage, "vocoder": VocoderStage}
