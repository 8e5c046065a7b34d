"""Input layouts ``latdeploy run`` takes, and the detection that picks one only when it is unambiguous.

=============  ==========================================================================================
layout         array
=============  ==========================================================================================
``NT``         Lava's ring buffer: ``(neurons, steps)`` or ``(samples, neurons, steps)``
``BT``         torch's: ``(samples, steps, *shape)`` with the model's per-step shape, e.g. ``(B, T, C, H, W)``
               or ``(B, T, N)``
``WHCT``       lava-dl's, one sample: ``(W, H, C, steps)`` of a ``(C, H, W)`` input (netx feeds it
               transposed to ``(C, H, W)``, as its PilotNet example ships it)
``CHWT``       one sample: ``(C, H, W, steps)``
=============  ==========================================================================================

:func:`to_batch` returns ``[B, T, N]`` (neurons in the IR's C order). With ``layout="auto"`` every layout
the array's shape fits is tried: ``NT``, the documented default, is taken whenever it fits (and the other
layouts that would read the array differently are named in the run's output, e.g. a ``(3, 6, 6)`` array
of a 6-neuron model, which ``BT`` reads as 6 steps of 6 neurons too); otherwise one that fits, or several
that read the same values, is taken and named; several that read different values are an error naming
them and ``--layout``, never a silent guess.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from latdeploy.errors import InputFormatError
from latdeploy.ir import Graph

LAYOUTS = ("NT", "BT", "WHCT", "CHWT")
"""The layouts, most specific last; ``"auto"`` detects one."""

Reader = Callable[[np.ndarray, tuple[int, ...]], "np.ndarray | None"]


def per_step_shape(graph: Graph) -> tuple[int, ...]:
    """Return the model's per-step input shape: ``metadata["input_shape"]``, else the ``(C, H, W)`` of the
    conv or pool layer reading the input, else ``(neurons,)``."""
    stated = graph.metadata.get("input_shape")
    if isinstance(stated, (list, tuple)) and math.prod(int(d) for d in stated) == graph.input.size:
        return tuple(int(d) for d in stated)
    for node in graph.nodes:
        if graph.input.name in node.inputs and hasattr(node, "in_channels"):
            return (int(node.in_channels), int(node.in_height), int(node.in_width))
    return (graph.input.size,)


def _ring(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    neurons = math.prod(shape)
    if array.ndim == 2 and array.shape[0] == neurons:
        return array.T[None]
    if array.ndim == 3 and array.shape[1] == neurons:
        return array.transpose(0, 2, 1)
    return None


def _torch(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    neurons = math.prod(shape)
    if array.ndim >= 3 and (tuple(array.shape[2:]) == shape or (array.ndim == 3 and array.shape[2] == neurons)):
        return array.reshape(*array.shape[:2], neurons)
    return None


def _whct(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    if len(shape) == 3 and array.ndim == 4 and tuple(array.shape[:3]) == shape[::-1]:
        return array.transpose(3, 2, 1, 0).reshape(1, array.shape[3], -1)
    return None


def _chwt(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    if len(shape) == 3 and array.ndim == 4 and tuple(array.shape[:3]) == shape:
        return array.reshape(-1, array.shape[3]).T[None]
    return None


READERS: dict[str, Reader] = {"NT": _ring, "BT": _torch, "WHCT": _whct, "CHWT": _chwt}


def expected(shape: tuple[int, ...]) -> str:
    """Return the layouts a model of per-step ``shape`` takes, for error messages."""
    neurons = math.prod(shape)
    text = f"NT ({neurons}, steps) or (samples, {neurons}, steps); BT (samples, steps, {', '.join(map(str, shape))})"
    if len(shape) == 3:
        channels, height, width = shape
        text += f"; WHCT ({width}, {height}, {channels}, steps); CHWT ({channels}, {height}, {width}, steps)"
    return text


def to_batch(
    array: np.ndarray, graph: Graph, layout: str = "auto", source: str = "input"
) -> tuple[np.ndarray, str, list[str]]:
    """Return ``(spikes [B, T, N], layout, others)``: ``array`` read in ``layout`` (``"auto"``: detected), and
    the other layouts that fit the array's shape but read it differently (``NT`` is preferred then).

    Raises:
        InputFormatError: naming ``source``, the array's shape and the layouts the model takes, if the array
            fits no layout (or not the one given), or, without ``NT``, fits several that read differently.
    """
    shape = per_step_shape(graph)
    names = LAYOUTS if layout == "auto" else (layout,)
    if layout != "auto" and layout not in READERS:
        raise InputFormatError(f"{source}: unknown layout {layout!r}; choose one of auto, {', '.join(LAYOUTS)}")
    fits = {name: batch for name in names if (batch := READERS[name](array, shape)) is not None}
    if not fits:
        wanted = "" if layout == "auto" else f" in layout {layout}"
        raise InputFormatError(
            f"{source}: field 'shape' is {tuple(array.shape)}; the model's input has {math.prod(shape)} neurons, "
            f"expected{wanted} {expected(shape)}"
        )
    chosen = "NT" if "NT" in fits else next(iter(fits))
    first = fits[chosen]
    differing = [name for name, batch in fits.items() if batch.shape != first.shape or not np.array_equal(batch, first)]
    if differing and chosen != "NT":
        raise InputFormatError(
            f"{source}: field 'shape' {tuple(array.shape)} is ambiguous: it reads differently as "
            f"{', '.join([chosen, *differing])}; give --layout"
        )
    return np.ascontiguousarray(first), chosen, differing
