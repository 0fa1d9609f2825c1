"""flowsep: generative language-queried audio source separation with rectified flow matching.

Classes are exported here because diffusers records a component's top-level package in
``model_index.json`` and looks the class up on it when loading a pipeline.
"""

from .errors import (
    AudioInputError,
    CheckpointError,
    FlowSepError,
    NumericalError,
    OutputPathError,
    QueryError,
    RecipeError,
    UsageError,
)
from .lazy import lazy_attributes

__version__ = "0.1.0"

# Imported on first use (PEP 562), so that `flowsep --help` and `import flowsep.audio` do not load torch,
# diffusers and transformers; `getattr(flowsep, name)`, as diffusers does, imports the class.
_LAZY = {
    **dict.fromkeys(("BigVGANVocoder", "FlowSepTransformer", "FlowSepUNet"), ".models"),
    **dict.fromkeys(("FlowSepPipeline", "FlowSepPipelineOutput"), ".pipelines"),
    **dict.fromkeys(("load_pipeline", "default_model"), ".loading"),
    "FlowMatchMidpointScheduler": ".schedulers",
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())

__all__ = [
    "AudioInputError",
    "CheckpointError",
    "FlowSepError",
    "NumericalError",
    "OutputPathError",
    "QueryError",
    "RecipeError",
    "UsageError",
] + list(_LAZY)
