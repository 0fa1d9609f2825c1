from .pipeline_flowsep import FlowSepPipeline
from .pipeline_output import FlowSepPipelineOutput

__all__ = ["FlowSepPipeline", "FlowSepPipelineOutput"]
