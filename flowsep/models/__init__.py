from .text_encoder import encode_text, load_text_encoder
from .transformer_flowsep import FlowSepTransformer, FlowSepTransformerOutput
from .unet_flowsep import FlowSepUNet
from .vocoder import BigVGANVocoder

__all__ = [
    "BigVGANVocoder",
    "FlowSepTransformer",
    "FlowSepTransformerOutput",
    "FlowSepUNet",
    "encode_text",
    "load_text_encoder",
]
