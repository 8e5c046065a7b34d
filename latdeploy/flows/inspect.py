"""Describe a model file: each graph it holds (float and/or integer) with its host/chip split."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from latdeploy.errors import ModelFormatError
from latdeploy.flows.input_layouts import expected, per_step_shape
from latdeploy.frontend.model_file import detect_format, load_graph
from latdeploy.ir.describe import describe_graph
from latdeploy.passes.partition import split_host_chip

HELD_GRAPHS = {
    "checkpoint": ("float",),
    "bundle": ("float", "integer"),
    "onnx": ("float", "integer"),
    "netx": ("integer",),
    "nir": ("float",),
}


def inspect_file(path: str | os.PathLike[str], dt: float | None = None) -> dict[str, Any]:
    """Return ``{file, format, graphs: {float|integer: description + host_chip + input_layouts}}`` for ``path``.

    ``dt`` is the time step of a NIR file that states none; ``input_layouts`` names the input arrays
    ``latdeploy run`` takes (:func:`latdeploy.flows.input_layouts.expected`).

    A checkpoint is described as its float graph (quantize with ``latdeploy
    export`` to see the integer one); an ``.onnx`` file holds one of the two.

    Raises:
        ModelFormatError: if the file holds no readable graph.
        LatdeployError: from the format's reader.
    """
    path = Path(path)
    kind = detect_format(path)
    graphs: dict[str, Any] = {}
    errors: list[str] = []
    for label in HELD_GRAPHS[kind]:
        try:
            graph = load_graph(path, integer=label == "integer", dt=dt)
        except ModelFormatError as error:
            errors.append(str(error))
            continue
        description = describe_graph(graph)
        description["host_chip"] = split_host_chip(graph).as_dict()
        description["input_layouts"] = expected(per_step_shape(graph))
        graphs[label] = description
    if not graphs:
        raise ModelFormatError(errors[0] if errors else f"{path}: holds no graph")
    return {"file": str(path), "format": kind, "graphs": graphs}
