"""Training: recipes, the objectives (flow matching, diffusion, predictive), the Accelerate trainer and the stages.

Run a stage with ``accelerate launch -m flowsep.train RECIPE.yaml`` (or ``flowsep train RECIPE.yaml``):

* ``vae``: :class:`~flowsep.training.stage_vae.VAEStage` -> ``OUTPUT_DIR/vae``;
* ``flow``: :class:`~flowsep.training.stage_flow.FlowStage` -> ``OUTPUT_DIR/transformer``;
* ``vocoder``: :class:`~flowsep.training.stage_vocoder.VocoderStage` -> ``OUTPUT_DIR/vocoder``;
* ``assemble``: :func:`~flowsep.training.assemble.assemble` -> a FlowSepPipeline folder.
"""

# Imported on first use (PEP 562): reading a recipe (the command line's checks) does not import torch.
from ..lazy import lazy_attributes

_LAZY = {
    "build_pipeline": ".assemble",  # (assemble, the function, is flowsep.training.assemble.assemble)
    **dict.fromkeys(
        ("DiffusionObjective", "FlowMatchingObjective", "ObjectiveOutput", "PredictiveObjective"),
        ".objective",
    ),
    **dict.fromkeys(("Recipe", "load_recipe", "parse_override"), ".recipe"),
    "StageTask": ".stage",
    "FlowStage": ".stage_flow",
    "VAEStage": ".stage_vae",
    "VocoderStage": ".stage_vocoder",
    "STAGE_TASKS": ".stages",
    "Trainer": ".trainer",
}

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())

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
    "build_pipeline",
    "load_recipe",
    "parse_override",
]
