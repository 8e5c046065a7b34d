"""Check data against the model it is meant for, before anything runs.

Inputs ``x`` are told apart by shape: ``[N, *input_shape]`` (or ``[N, prod(input_shape)]``) is the
model's input, which its encoder encodes (``analog``); ``[N, T, *step]`` (or ``[N, T, prod(step)]``),
with ``step`` the shape of one step of the encoder's output, is already encoded (``encoded``:
spikes, or event counts as graded payloads, an unsigned integer or bool dtype, at most 255).
Labels ``y`` are integers in ``[0, classes)``, one per sample.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from latdeploy.errors import InputFormatError
from latdeploy.nn.evaluation import model_inputs

ANALOG = "analog"
ENCODED = "encoded"
UNIT_RANGE_ENCODERS = ("latency",)
"""Encoders whose inputs must lie in [0, 1]."""
DESCRIPTIONS = {ANALOG: "inputs the model's encoder encodes", ENCODED: "already-encoded spikes"}


def encoded_step_shape(model: torch.nn.Module, metadata: dict[str, Any]) -> tuple[int, ...]:
    """Return the shape of one step of the model's encoder output for one sample."""
    with torch.no_grad():
        spikes = model.encoder(model_inputs(np.zeros((1, *metadata["input_shape"]), np.float32), model.config))
    return tuple(int(n) for n in spikes.shape[2:])


def _shape_text(shape: tuple[int, ...]) -> str:
    return "[N, " + ", ".join(str(n) for n in shape) + "]"


def data_kind(x: np.ndarray, model: torch.nn.Module, metadata: dict[str, Any], where: str) -> str:
    """Return :data:`ANALOG` or :data:`ENCODED` for inputs ``x`` of the model, after checking
    their shape, dtype and value range; ``where`` names the source in errors.

    Raises:
        InputFormatError: naming ``where``, field ``x`` and the expected value.
    """
    input_shape = tuple(int(n) for n in metadata["input_shape"])
    timesteps = int(metadata["timesteps"])
    step = encoded_step_shape(model, metadata)
    if x.ndim < 2 or len(x) == 0:
        raise InputFormatError(f"{where}: field 'x' has shape {list(x.shape)}; expected {_shape_text(input_shape)}")
    per_sample = tuple(x.shape[1:])
    if per_sample in (input_shape, (math.prod(input_shape),)):
        kind = ANALOG
    elif per_sample in ((timesteps, *step), (timesteps, math.prod(step))):
        kind = ENCODED
    else:
        raise InputFormatError(
            f"{where}: field 'x' has shape {list(x.shape)}; expected {_shape_text(input_shape)} inputs "
            f"or {_shape_text((timesteps, *step))} encoded spikes"
        )
    if kind == ENCODED:
        if x.dtype != np.bool_ and not np.issubdtype(x.dtype, np.unsignedinteger):
            raise InputFormatError(f"{where}: field 'x' holds {x.dtype} spikes; expected uint8 or bool")
        if x.size and int(x.max()) > 255:
            raise InputFormatError(f"{where}: field 'x' holds a spike payload of {int(x.max())}; expected at most 255")
        return kind
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise InputFormatError(f"{where}: field 'x' holds {x.dtype} values; expected real numbers (float32)")
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise InputFormatError(f"{where}: field 'x' holds NaN or infinite values; expected finite numbers")
    encoder = str(model.config.get("encoder", metadata.get("encoder", "latency")))
    if encoder in UNIT_RANGE_ENCODERS and x.size and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
        raise InputFormatError(
            f"{where}: field 'x' holds values in [{float(x.min()):g}, {float(x.max()):g}]; "
            f"the {encoder!r} encoder expects [0, 1]"
        )
    return kind


def check_labels(y: np.ndarray, samples: int, classes: int, where: str) -> None:
    """Check labels ``y``: ``samples`` integers in ``[0, classes)``.

    Raises:
        InputFormatError: naming ``where``, field ``y`` and the expected value.
    """
    if y.shape != (samples,):
        raise InputFormatError(f"{where}: field 'y' has shape {list(y.shape)}; expected [{samples}] (one per sample)")
    if not np.issubdtype(y.dtype, np.integer):
        raise InputFormatError(f"{where}: field 'y' holds {y.dtype} values; expected integer class labels")
    if y.size and (int(y.min()) < 0 or int(y.max()) >= classes):
        raise InputFormatError(
            f"{where}: field 'y' holds labels in [{int(y.min())}, {int(y.max())}]; expected [0, {classes - 1}]"
        )
