"""Training: recipes, the objectives (flow matching, diffusion, predictive), the Accelerate trainer and the stages.

Run a stage with ``accelerate launch -m flowsep.train RECIPE.yaml`` (or ``flowsep train RECIPE.yaml``):

* ``vae``: :class:`~flowsep.training.stage_vae.VAEStage` -> ``OUTPUT_DIR/vae``;
* ``flow``: :class:`~flowsep.training.stage_flow.FlowStage` -> ``OUTPUT_DIR/transformer``;
* ``vocoder``: :class:`~flowsep.training.stage_vocoder.VocoderStage` -> ``OUTPUT_DIR/vocoder``;
* ``assemble``: :func:`~flowsep.training.assemble.assemble` -> a FlowSepPipeline folder.
"""

from .assemble import assemble, build_pipeline
from .objective import DiffusionObjective, FlowMatchingObjective, ObjectiveOutput, PredictiveObjective
from .recipe import Recipe, load_recipe, parse_override
from .stage import StageTask
from .stage_flow import FlowStage
from .stage_vae import VAEStage
from .stage_vocoder import VocoderStage
from .trainer import Trainer

STAGE_TASKS = {"vae": VAEStage, "flow": FlowStage, "vocoder": VocoderStage}

__all__ = [
    "STAGE_TASKS",
    "DiffusionObjective",
    "FlowMatchingObjective",
    "FlowStage",
    "ObjectiveOutput",
    "PredictiveObjective",
    "Recipe",
    "StageTask",
    "Trainer",
    "VAEStage",
    "VocoderStage",
    "assemble",
    "build_pipeline",
    "load_recipe",
    "parse_override",
]
