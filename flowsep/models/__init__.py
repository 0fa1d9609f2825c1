"""The trainable components, each imported on first use (PEP 562), so that importing one component module does not
import the others. (The pipeline module imports all of them: diffusers needs them imported to load a folder.)"""

_LAZY = {
    "BigVGANVocoder": ".vocoder",
    "FlowSepTransformer": ".transformer_flowsep",
    "FlowSepTransformerOutput": ".transformer_flowsep",
    "FlowSepUNet": ".unet_flowsep",
    "encode_text": ".text_encoder",
    "load_text_encoder": ".text_encoder",
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
    "BigVGANVocoder",
    "FlowSepTransformer",
    "FlowSepTransformerOutput",
    "FlowSepUNet",
    "encode_text",
    "load_text_encoder",
]
