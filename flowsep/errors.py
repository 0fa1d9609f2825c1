"""Errors raised on bad input. Each names the problem in one line, never a traceback from inside torch."""


class FlowSepError(Exception):
    """Base class of every error flowsep raises on purpose."""


class AudioInputError(FlowSepError, ValueError):
    """Audio that cannot be used: missing or unreadable file, empty, NaN/Inf samples, wrong shape or type."""


class QueryError(FlowSepError, ValueError):
    """A text query that cannot be used (empty, wrong type, count not matching the mixtures)."""


class CheckpointError(FlowSepError, OSError):
    """A model folder that is missing, incomplete, or written by an incompatible version."""


class RecipeError(FlowSepError, ValueError):
    """A training or evaluation recipe with unknown keys or invalid values."""


class UsageError(FlowSepError, ValueError):
    """An option or argument out of range or inconsistent (a CLI flag or a pipeline keyword)."""


class OutputPathError(FlowSepError, OSError):
    """An output path that cannot be written safely (exists, would replace an input, outside the output folder)."""


class NumericalError(FlowSepError, ArithmeticError):
    """A computation that gave NaN or Inf (a diverged flow, non-finite weights), named by its step."""
