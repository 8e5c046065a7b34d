"""Extra interchange files of an export bundle: ``graph.net`` (lava-dl netx) and ``graph.nir`` (NIR).

``latdeploy export --format netx|nir|onnx`` adds them beside the bundle's ONNX graphs
(which are always written). :func:`interchange_writers` checks both graphs first, so a
graph a format cannot express fails before anything runs or is written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from latdeploy.backends.netx import check_netx, write_netx
from latdeploy.backends.nir import graph_to_nir, write_nir
from latdeploy.errors import LatdeployError
from latdeploy.ir import Graph

FORMATS = ("onnx", "netx", "nir")
FILES = {"onnx": (), "netx": ("graph.net",), "nir": ("graph.nir",)}


def interchange_writers(
    graph: Graph, integer_graph: Graph, formats: tuple[str, ...]
) -> dict[str, Callable[[Path], Any]]:
    """Return ``{file name: writer(path)}`` for the requested ``formats`` (ONNX needs none: always written).

    ``netx`` writes the integer graph (``graph.net``), ``nir`` the float graph (``graph.nir``).

    Raises:
        LatdeployError: for an unknown format.
        UnsupportedLayerError, QuantizationRangeError: if a graph has no exact form in a
            requested format (checked now, before anything is written).
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise LatdeployError(f"unknown --format {unknown[0]!r}; supported: {list(FORMATS)}")
    writers: dict[str, Callable[[Path], Any]] = {}
    if "netx" in formats:
        check_netx(integer_graph)
        writers["graph.net"] = lambda path: write_netx(integer_graph, path)
    if "nir" in formats:
        graph_to_nir(graph)
        writers["graph.nir"] = lambda path: write_nir(graph, path)
    return writers
