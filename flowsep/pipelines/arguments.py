"""Checks of keyword arguments and of the tensors a call passes through: one [`UsageError`] naming the argument
(or [`NumericalError`] naming the step), before or while work is done. Light: tensors are checked through their
own methods, torch is not imported here."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import NumericalError, UsageError


def require_choice(name: str, value, choices: Sequence) -> None:
    """``value`` must be one of ``choices``."""
    if value not in choices:
        raise UsageError(f"unknown {name} {value!r}: choose one of {tuple(choices)}")


def require_int(name: str, value, least: int, most: int | None = None) -> None:
    """``value`` must be an integer (not a bool) in ``[least, most]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{name} must be an integer, got {value!r}")
    if value < least:
        raise UsageError(f"{name} must be >= {least}, got {value}")
    if most is not None and value > most:
        raise UsageError(f"{name} must be at most {most}, got {value}")


def require_number(name: str, value, least: float | None = None, most: float | None = None) -> None:
    """``value`` must be ``None`` or a finite real number in ``[least, most]`` (each bound when given)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number, got {value!r}")
    if least is not None and value < least:
        raise UsageError(f"{name} must be >= {least}, got {value}")
    if most is not None and value > most:
        raise UsageError(f"{name} must be at most {most:g}, got {value}")


def require_finite(name: str, tensor) -> None:
    """``tensor``, when given, must be a tensor holding no NaN or Inf."""
    if tensor is None:
        return
    if not hasattr(tensor, "isfinite"):
        raise UsageError(f"{name} must be a tensor, got {type(tensor).__name__}")
    if not bool(tensor.isfinite().all()):
        raise UsageError(f"{name} holds NaN or Inf values")


def check_step(latents, step: int, steps: int) -> None:
    """The latents after ODE step ``step`` (from 0) of ``steps`` must be finite: a diverged flow is named."""
    if not bool(latents.isfinite().all()):
        raise NumericalError(
            f"the flow diverged: the latents hold NaN or Inf after step {step + 1} of {steps} "
            "(check guidance_scale, source_noise and the model's weights)"
        )


def check_result(output, output_type: str) -> None:
    """The pipeline's output (audio, mels or latents) must be finite."""
    if not bool(output.isfinite().all()):
        raise NumericalError(
            f"the {output_type!r} output holds NaN or Inf although every step's latents were finite "
            "(non-finite weights in the VAE or vocoder?)"
        )


def callback_outputs(outputs, step: int, tensors: dict) -> dict:
    """``tensors`` updated from what ``callback_on_step_end`` returned at ``step``. As in diffusers' pipelines the
    callback returns a dict (``callback_kwargs``, changed or not); a tensor it returns must keep its shape and be
    finite. Keys that name no tensor of the step are ignored, as diffusers does."""
    if not isinstance(outputs, dict):
        raise UsageError(
            f"callback_on_step_end returned {type(outputs).__name__} at step {step}: return a dict "
            "(callback_kwargs, changed or not), as diffusers pipelines expect"
        )
    changed = {name: value for name, value in outputs.items() if name in tensors}
    for name, value in changed.items():
        if getattr(value, "shape", None) != tensors[name].shape:
            raise UsageError(
                f"callback_on_step_end at step {step}: {name!r} must keep its shape {tuple(tensors[name].shape)}, "
                f"got {tuple(getattr(value, 'shape', ())) or type(value).__name__}"
            )
        require_finite(f"callback_on_step_end at step {step}: {name!r}", value)
    return tensors | changed
