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

__version__ = "0.1.0"

# Imported on first use (PEP 562), so that `flowsep --help` and `import flowsep.audio` do not load torch,
# diffusers and transformers; `getattr(flowsep, name)`, as diffusers does, imports the class.
_LAZY = {
    "BigVGANVocoder": ".models",
    "FlowSepTransformer": ".models",
    "FlowSepUNet": ".models",
    "FlowSepPipeline": ".pipelines",
    "FlowSepPipelineOutput": ".pipelines",
    "FlowMatchMidpointScheduler": ".schedulers",
    "load_pipeline": ".loading",
    "default_model": ".loading",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


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
    "default_model",
    "load_pipeline",
]
