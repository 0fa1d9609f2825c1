"""Importers of checkpoints trained elsewhere into flowsep pipeline folders (the official FlowSep release)."""

from .official import ConversionReport, OfficialArchitecture, convert_official_flowsep

__all__ = ["ConversionReport", "OfficialArchitecture", "convert_official_flowsep"]
