"""The intermediate graph: typed nodes, one registry, (de)serialisation."""

from __future__ import annotations

from latdeploy.ir.graph import Graph
from latdeploy.ir.nodes import (
    LIF,
    NODE_TYPES,
    Dense,
    DenseInt,
    LIFInt,
    Node,
    SpikeInput,
    register_node,
)

__all__ = ["Dense", "DenseInt", "Graph", "LIF", "LIFInt", "NODE_TYPES", "Node", "SpikeInput", "register_node"]
