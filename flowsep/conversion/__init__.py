"""Importers of checkpoints trained elsewhere into flowsep pipeline folders (the official FlowSep release).

Imported on first use (PEP 562), so that :mod:`~flowsep.conversion.sniff` checks a file without importing torch.
"""

from ..lazy import lazy_attributes

_LAZY = dict.fromkeys(("ConversionReport", "OfficialArchitecture", "convert_official_flowsep"), ".official")

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())

__all__ = sorted(_LAZY)
