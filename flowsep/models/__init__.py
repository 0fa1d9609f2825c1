"""The trainable components, each imported on first use (PEP 562), so that importing one component module does not
import the others. (The pipeline module imports all of them: diffusers needs them imported to load a folder.)"""

from ..lazy import lazy_attributes

_LAZY = {
    "BigVGANVocoder": ".vocoder",
    "FlowSepTransformer": ".transformer_flowsep",
    "FlowSepTransformerOutput": ".transformer_flowsep",
    "FlowSepUNet": ".unet_flowsep",
    "LogMelLatent": ".mel_latent",
    "encode_text": ".text_encoder",
    "load_text_encoder": ".text_encoder",
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())

__all__ = sorted(_LAZY)
