"""flowsep: generative language-queried audio source separation with rectified flow matching.

Classes are exported here because diffusers records a component's top-level package in
``model_index.json`` and looks the class up on it when loading a pipeline.
"""

from .errors import (
    AudioInputError,
    CheckpointError,
    FlowSepError,
    OutputPathError,
    QueryError,
    RecipeError,
    UsageError,
)
from .models import BigVGANVocoder, FlowSepTransformer, FlowSepUNet
from .pipelines import FlowSepPipeline, FlowSepPipelineOutput
from .schedulers import FlowMatchMidpointScheduler

__version__ = "0.1.0"

__all__ = [
    "AudioInputError",
    "BigVGANVocoder",
    "CheckpointError",
    "FlowMatchMidpointScheduler",
    "FlowSepError",
    "FlowSepPipeline",
    "FlowSepPipelineOutput",
    "FlowSepTransformer",
    "FlowSepUNet",
    "OutputPathError",
    "QueryError",
    "RecipeError",
    "UsageError",
]
