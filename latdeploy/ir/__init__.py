"""The intermediate graph: typed nodes, one registry, (de)serialisation."""

from __future__ import annotations

from latdeploy.ir.conv import AxonalDelay, Conv2d, Conv2dInt, Pool2d
from latdeploy.ir.delayed_reset import DelayedResetLIF, DelayedResetLIFInt
from latdeploy.ir.framework_neurons import DecayInputLIF, DecayInputSoftLIF, NorseLIF
from latdeploy.ir.graph import Graph
from latdeploy.ir.netx_nodes import DelayDenseInt
from latdeploy.ir.neurons_ext import (
    TTFS,
    MultiThresholdLIF,
    MultiThresholdLIFInt,
    SoftResetLIF,
    SoftResetLIFInt,
    TTFSInt,
)
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
from latdeploy.ir.recurrent import RecurrentDense, RecurrentDenseInt
from latdeploy.ir.xylo_nodes import XyloIAFInt

__all__ = [
    "AxonalDelay",
    "Conv2d",
    "Conv2dInt",
    "Pool2d",
    "DecayInputLIF",
    "DecayInputSoftLIF",
    "DelayedResetLIF",
    "DelayedResetLIFInt",
    "Dense",
    "DelayDenseInt",
    "DenseInt",
    "Graph",
    "LIF",
    "LIFInt",
    "MultiThresholdLIF",
    "MultiThresholdLIFInt",
    "NODE_TYPES",
    "RecurrentDense",
    "RecurrentDenseInt",
    "Node",
    "NorseLIF",
    "SoftResetLIF",
    "SoftResetLIFInt",
    "SpikeInput",
    "TTFS",
    "TTFSInt",
    "XyloIAFInt",
    "register_node",
]
