"""FuseSynapseChains: merge back-to-back float synapses into the one synapse Lava can run.

A torch conv net may apply two linear layers in one step with no neuron between
(``AvgPool2d -> Conv2d`` in VGG, ``Conv2d -> AvgPool2d``, ``AvgPool2d -> Flatten ->
Linear``). On Loihi each synapse is one process feeding neurons, so the chain
becomes a single synapse computing the composite linear map (exact in real
arithmetic; float32 rounding differs, which quantization calibration absorbs):

* pool (kernel = stride, no padding) then conv: a ``Conv2d`` whose kernel is the
  conv's, each tap repeated over the pool window and scaled by the pool factor,
  with stride and padding multiplied by the pool size;
* conv then pool (kernel = stride, no padding): a ``Conv2d`` with kernel
  ``K + (p - 1) s`` summing the conv kernel over the pool window, stride ``s p``;
* anything else: a ``Dense`` probed column by column (up to :data:`MAX_DENSE_ENTRIES`).

Each fused node keeps the name of the chain's last node and reads the chain's input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from latdeploy.errors import UnsupportedLayerError
from latdeploy.ir import Dense, Graph, Node
from latdeploy.ir.conv import Conv2d, Pool2d
from latdeploy.passes.base import GraphPass, register_pass
from latdeploy.registry import Registry
from latdeploy.sim.float_sim import FLOAT_KERNELS

MAX_DENSE_ENTRIES = 1 << 22

CONVOLUTION_FUSERS: Registry[tuple[type[Node], type[Node]], Callable[[Any, Any], Node | None]] = Registry(
    "convolution fuser"
)
"""``fuse(first, second)`` per (first class, second class): the fused convolution, or ``None`` when the pair
has no convolution form (then the pair is probed as a ``Dense``)."""


def _plain_pool(pool: Pool2d) -> bool:
    return (pool.kernel_h, pool.kernel_w) == (pool.stride_h, pool.stride_w) and pool.padding_h == pool.padding_w == 0


def _pool_factor(pool: Pool2d) -> float:
    return 1.0 if pool.mode == "sum" else 1.0 / (pool.kernel_h * pool.kernel_w)


def _pool_then_conv(pool: Pool2d, conv: Conv2d) -> Conv2d | None:
    if not _plain_pool(pool):
        return None
    ph, pw = pool.kernel_h, pool.kernel_w
    weight = np.repeat(np.repeat(conv.weight.astype(np.float64), ph, axis=2), pw, axis=3) * _pool_factor(pool)
    fused = Conv2d(
        conv.name,
        pool.inputs,
        weight=weight.astype(np.float32),
        in_channels=pool.in_channels,
        in_height=pool.in_height,
        in_width=pool.in_width,
        stride_h=conv.stride_h * ph,
        stride_w=conv.stride_w * pw,
        padding_h=conv.padding_h * ph,
        padding_w=conv.padding_w * pw,
        groups=conv.groups,
    )
    rows_dropped = pool.in_height % ph or pool.in_width % pw
    if fused.out_shape != conv.out_shape or (rows_dropped and (conv.padding_h or conv.padding_w)):
        return None
    return fused


def _conv_then_pool(conv: Conv2d, pool: Pool2d) -> Conv2d | None:
    if not _plain_pool(pool):
        return None
    out_channels, per_group, kh, kw = conv.weight.shape
    ph, pw, sh, sw = pool.kernel_h, pool.kernel_w, conv.stride_h, conv.stride_w
    weight = np.zeros((out_channels, per_group, kh + (ph - 1) * sh, kw + (pw - 1) * sw))
    for u in range(ph):
        for v in range(pw):
            weight[:, :, u * sh : u * sh + kh, v * sw : v * sw + kw] += conv.weight
    fused = Conv2d(
        pool.name,
        conv.inputs,
        weight=(weight * _pool_factor(pool)).astype(np.float32),
        in_channels=conv.in_channels,
        in_height=conv.in_height,
        in_width=conv.in_width,
        stride_h=sh * ph,
        stride_w=sw * pw,
        padding_h=conv.padding_h,
        padding_w=conv.padding_w,
        groups=conv.groups,
    )
    return fused if fused.out_shape == pool.out_shape else None


CONVOLUTION_FUSERS.add((Pool2d, Conv2d), _pool_then_conv)
CONVOLUTION_FUSERS.add((Conv2d, Pool2d), _conv_then_pool)


def _probe_dense(chain: list[Node], fan_in: int) -> Dense:
    last = chain[-1]
    if fan_in * last.size > MAX_DENSE_ENTRIES:
        raise UnsupportedLayerError(
            f"node {last.name!r}: the synapse chain {[n.name for n in chain]} has no convolution form and its "
            f"dense form ({last.size} x {fan_in}) exceeds {MAX_DENSE_ENTRIES} weights; put a neuron between them"
        )
    values = torch.eye(fan_in, dtype=torch.float32).unsqueeze(0)
    with torch.no_grad():
        for node in chain:
            values = FLOAT_KERNELS.get(type(node))(node, values)
    return Dense(last.name, chain[0].inputs, weight=values[0].numpy().T.copy())


def fuse_pair(first: Node, second: Node, fan_in: int) -> Node:
    """Return one float synapse computing ``second(first(x))`` for ``x`` of ``fan_in`` values.

    Raises:
        UnsupportedLayerError: if neither a convolution nor a small enough dense form exists.
    """
    fuse = CONVOLUTION_FUSERS.find((type(first), type(second)))
    fused = fuse(first, second) if fuse is not None else None
    return fused if fused is not None else _probe_dense([first, second], fan_in)


def fuse_synapse_chains(graph: Graph) -> Graph:
    """Return ``graph`` with every synapse that feeds only another synapse merged into it.

    Raises:
        UnsupportedLayerError: if a chain cannot be merged (see :func:`fuse_pair`).
    """
    consumers: dict[str, list[str]] = {}
    for node in graph.nodes:
        for name in node.inputs:
            consumers.setdefault(name, []).append(node.name)
    nodes: dict[str, Node] = {}
    for node in graph.nodes:
        source = nodes.get(node.inputs[0]) if len(node.inputs) == 1 else None
        if node.kind == "synapse" and source is not None and source.kind == "synapse":
            if len(consumers[source.name]) != 1:
                raise UnsupportedLayerError(f"node {source.name!r}: a synapse feeding several synapses cannot be fused")
            fan_in = graph.node(source.inputs[0]).size
            del nodes[source.name]
            nodes[node.name] = fuse_pair(source, node, fan_in)
        else:
            nodes[node.name] = node
    if len(nodes) == len(graph.nodes):
        return graph
    return graph.replace_nodes(list(nodes.values()))


@register_pass
class FuseSynapseChains(GraphPass):
    """Merge back-to-back float synapses into one (the module docstring; :func:`fuse_synapse_chains`)."""

    def apply(self, graph: Graph) -> Graph:
        """Return ``graph`` with every synapse chain fused into one synapse."""
        return fuse_synapse_chains(graph)
