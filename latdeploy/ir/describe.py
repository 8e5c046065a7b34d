"""A JSON-able description of a graph (layers, shapes, neuron kinds, parameters) and its text table.

Light on purpose (``latdeploy inspect`` of a ``.net``, ``.nir`` or ``.onnx`` file imports no torch, numba
or scipy): whether a graph is integer is read from its node types' names, not from the fixed-point
simulator's kernel table (``tests/ir/test_describe.py`` checks the two agree for every node type).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latdeploy.ir.graph import Graph
from latdeploy.ir.nodes import Node

SHARED_NODE_TYPES = ("AxonalDelay",)
"""Node types that float and integer graphs share (a kernel in both simulators)."""


def is_integer_node_type(node_type: type[Node]) -> bool:
    """Return whether ``node_type`` computes in integers: an ``...Int`` type (the name every integer node
    type carries, docs/neurons.md) or one of :data:`SHARED_NODE_TYPES`; exactly the types with a
    fixed-point kernel (:data:`latdeploy.sim.fixed.FIXED_KERNELS`)."""
    return node_type.__name__.endswith("Int") or node_type.__name__ in SHARED_NODE_TYPES


def is_integer_graph(graph: Graph) -> bool:
    """Return whether every node of ``graph`` but its input is an integer node (an integer graph)."""
    return all(node.kind == "input" or is_integer_node_type(type(node)) for node in graph.nodes)


def _tensor_summary(array: np.ndarray) -> dict[str, Any]:
    summary: dict[str, Any] = {"shape": list(array.shape), "dtype": str(array.dtype)}
    if array.size:
        summary.update(min=array.min().item(), max=array.max().item())
    return summary


def describe_node(graph: Graph, node: Node) -> dict[str, Any]:
    """Return one node's entry: name, type, kind, inputs, size, lag, attributes and tensor summaries."""
    attributes = {k: list(v) if isinstance(v, tuple) else v for k, v in node.attribute_fields().items()}
    tensors = {k: _tensor_summary(v) for k, v in node.tensor_fields().items() if v is not None}
    return {
        "name": node.name,
        "type": type(node).__name__,
        "kind": node.kind,
        "inputs": list(node.inputs),
        "size": int(node.size),
        "lag": graph.lag(node.name),
        "attributes": attributes,
        "tensors": tensors,
    }


def describe_graph(graph: Graph) -> dict[str, Any]:
    """Return ``{timesteps, integer, nodes: [...], neuron_kinds, synapses, metadata}`` for ``graph``."""
    nodes = [describe_node(graph, node) for node in graph.nodes]
    synapses = sum(int(np.count_nonzero(getattr(n, "weight", np.zeros(0)))) for n in graph.nodes)
    metadata = {k: v for k, v in graph.metadata.items() if k != "quantization"}
    return {
        "timesteps": graph.timesteps,
        "integer": is_integer_graph(graph),
        "nodes": nodes,
        "neuron_kinds": sorted({type(n).__name__ for n in graph.neurons()}),
        "neurons": sum(n.size for n in graph.neurons()),
        "synapses": synapses,
        "metadata": metadata,
    }


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _parameters(entry: dict[str, Any]) -> str:
    parts = [f"{k}={_number(v)}" for k, v in entry["attributes"].items()]
    for name, tensor in entry["tensors"].items():
        span = f"[{_number(tensor['min'])}, {_number(tensor['max'])}]" if "min" in tensor else "[]"
        shape = "x".join(str(s) for s in tensor["shape"])
        parts.append(f"{name}:{shape} {tensor['dtype']} {span}")
    return ", ".join(parts)


def format_description(description: dict[str, Any]) -> str:
    """Return the description as an aligned text table with a one-line summary on top."""
    kind = "integer" if description["integer"] else "float"
    lines = [
        f"{kind} graph, {description['timesteps']} time steps, {len(description['nodes'])} nodes, "
        f"{description['neurons']} neurons ({', '.join(description['neuron_kinds']) or 'none'}), "
        f"{description['synapses']} non-zero synapses"
    ]
    header = ("name", "type", "kind", "size", "lag", "inputs", "parameters")
    rows = [
        (e["name"], e["type"], e["kind"], str(e["size"]), str(e["lag"]), ",".join(e["inputs"]) or "-", _parameters(e))
        for e in description["nodes"]
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        )
    return "\n".join(lines)
