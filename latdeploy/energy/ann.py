"""The ANN-equivalent baseline: the operations of one dense pass of the network as the user trained it.

Counted on the float graph before any pass (pools unfused, so a ``Conv2d -> AvgPool2d`` pair
costs what the trained torch network costs, not what the fused synapse on the chip costs),
per spiking layer (the synapses between the previous spiking layer or the input and it):

* ``Dense``: ``out x in`` MACs; a recurrent layer's ``RecurrentDense`` adds its ``N x N`` (the
  recurrent cell of an RNN step: ``W x + W_rec h``);
* ``Conv2d``: ``C_out x H_out x W_out x C_in/groups x kH x kW`` MACs (padding taps included,
  as torch's ``FlopCounterMode`` counts them: one MAC = its two FLOPs);
* ``Pool2d``: ``C x H_out x W_out x (kH x kW - 1)`` additions (summing each window); an
  average pool's one scaling per output is folded into the next layer's weights, as an
  ANN deployment does, and not counted.

Other nodes (neurons, axonal delays, the input) cost nothing in the ANN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from latdeploy.ir import Dense, DenseInt, Graph, Node, RecurrentDense, RecurrentDenseInt
from latdeploy.ir.conv import Conv2d, Conv2dInt, Pool2d
from latdeploy.ir.netx_nodes import DelayDenseInt
from latdeploy.registry import Registry

ANN_CONVENTION = (
    "ANN MACs: one dense pass of the network as trained (pools unfused): Dense out x in, "
    "Conv2d C_out x H_out x W_out x C_in/groups x kH x kW; pools: C x H_out x W_out x (kH x kW - 1) additions"
)


@dataclass(frozen=True)
class AnnOperations:
    """Operations of one ANN pass: ``macs`` (multiply-accumulates) and ``adds`` (additions)."""

    macs: int = 0
    adds: int = 0

    def __add__(self, other: AnnOperations) -> AnnOperations:
        return AnnOperations(self.macs + other.macs, self.adds + other.adds)


ANN_COUNTERS: Registry[type[Node], Callable[[Any], AnnOperations]] = Registry(
    "ANN-equivalent operation count", hint="count it in latdeploy/energy/ann.py"
)
"""What one ANN pass of each synapse kind costs, keyed by node class."""


def _matrix(node: Any) -> AnnOperations:
    return AnnOperations(macs=int(node.weight.size))


def _conv(node: Any) -> AnnOperations:
    out_channels, per_group, kernel_h, kernel_w = (int(n) for n in node.weight.shape)
    return AnnOperations(macs=out_channels * node.out_height * node.out_width * per_group * kernel_h * kernel_w)


def _pool(node: Pool2d) -> AnnOperations:
    window = int(node.kernel_h) * int(node.kernel_w)
    return AnnOperations(adds=node.out_channels * node.out_height * node.out_width * (window - 1))


for _kind in (Dense, DenseInt, DelayDenseInt, RecurrentDense, RecurrentDenseInt):
    ANN_COUNTERS.add(_kind, _matrix)
ANN_COUNTERS.add(Conv2d, _conv)
ANN_COUNTERS.add(Conv2dInt, _conv)
ANN_COUNTERS.add(Pool2d, _pool)


def node_operations(node: Node) -> AnnOperations:
    """Return what one ANN pass of ``node`` costs (nothing for a non-synapse node).

    Raises:
        UnsupportedLayerError: for a synapse kind without an :data:`ANN_COUNTERS` entry (the
            registry's lookup error).
    """
    if node.kind != "synapse":
        return AnnOperations()
    return ANN_COUNTERS.get(type(node), subject=f"node {node.name!r}")(node)


def ann_operations(graph: Graph) -> dict[str, AnnOperations]:
    """Return the ANN-equivalent operations per spiking layer of ``graph`` (the float graph as the
    user trained it): each layer's entry sums the nodes between it and the previous spiking layers
    (or the input).

    Raises:
        UnsupportedLayerError: for a synapse kind that cannot be counted.
    """
    per_layer = {}
    for neuron in graph.neurons():
        total, seen, pending = AnnOperations(), set(), list(neuron.inputs)
        while pending:
            node = graph.node(pending.pop())
            if node.name in seen or node.kind == "neuron" or node.name == graph.input.name:
                continue
            seen.add(node.name)
            total = total + node_operations(node)
            pending.extend(node.inputs)
        loop = graph.loops().get(neuron.name)
        if loop is not None:
            total = total + ANN_COUNTERS.get(type(loop), subject=f"node {loop.name!r}")(loop)
        per_layer[neuron.name] = total
    return per_layer
