"""An integer graph of :class:`~latdeploy.ir.xylo_nodes.XyloIAFInt` layers as one Xylo core.

The hidden layers are stacked into Xylo's hidden population in order (layer 0's neurons first);
the first takes the input weights, each later one the block of the recurrent matrix fed by the
layer before it, and the last layer is the readout.
"""

from __future__ import annotations

import numpy as np

from latdeploy.errors import QuantizationRangeError
from latdeploy.hw.xylo_rules import check_xylo_graph
from latdeploy.ir import Graph
from latdeploy.ir.xylo_nodes import XyloIAFInt
from latdeploy.sim.xylo_core import XyloCore


def xylo_layers(graph: Graph) -> list[XyloIAFInt]:
    """Return the graph's Xylo layers in order (hidden layers, then the readout).

    Raises:
        ResourceError: if the graph is not one Xylo core (:func:`~latdeploy.hw.xylo_rules.check_xylo_graph`).
    """
    check_xylo_graph(graph)
    return [node for node in graph.nodes if isinstance(node, XyloIAFInt)]


def hidden_offsets(graph: Graph) -> dict[str, int]:
    """Return each hidden layer's first index in Xylo's hidden population."""
    offsets, start = {}, 0
    for node in xylo_layers(graph)[:-1]:
        offsets[node.name] = start
        start += node.size
    return offsets


def xylo_core_of(graph: Graph) -> XyloCore:
    """Return the :class:`~latdeploy.sim.xylo_core.XyloCore` that runs ``graph``.

    Raises:
        ResourceError: if the graph is not one Xylo core.
        QuantizationRangeError: if hidden layers after the first differ in ``weight_shift`` (Xylo has one
            recurrent weight shift).
    """
    *hidden, readout = xylo_layers(graph)
    offsets = hidden_offsets(graph)
    n_hidden = sum(node.size for node in hidden)
    w_in = np.zeros((graph.input.size, n_hidden, 2), np.int64)
    w_rec = np.zeros((n_hidden, n_hidden, 2), np.int64)
    w_out = np.zeros((n_hidden, readout.size), np.int64)
    first = hidden[0]
    w_in[:, : first.size, 0] = first.weight.T
    shifts = {node.weight_shift for node in hidden[1:]}
    if len(shifts) > 1:
        raise QuantizationRangeError(f"hidden layers after the first use weight shifts {sorted(shifts)}; Xylo has one")
    for before, node in zip(hidden, hidden[1:], strict=False):
        rows, columns = offsets[before.name], offsets[node.name]
        w_rec[rows : rows + before.size, columns : columns + node.size, 0] = node.weight.T
    last = hidden[-1]
    w_out[offsets[last.name] : offsets[last.name] + last.size] = readout.weight.T

    def stack(field: str) -> np.ndarray:
        return np.concatenate([getattr(node, field) for node in hidden]).astype(np.int64)

    return XyloCore(
        w_in=w_in,
        w_rec=w_rec,
        w_out=w_out,
        weight_shift_in=first.weight_shift,
        weight_shift_rec=shifts.pop() if shifts else 0,
        weight_shift_out=readout.weight_shift,
        dash_syn=np.stack([stack("dash_syn"), np.zeros(n_hidden, np.int64)], axis=1),
        dash_mem=stack("dash_mem"),
        threshold=stack("threshold"),
        bias=stack("bias"),
        dash_syn_out=readout.dash_syn.astype(np.int64),
        dash_mem_out=readout.dash_mem.astype(np.int64),
        threshold_out=readout.threshold.astype(np.int64),
        bias_out=readout.bias.astype(np.int64),
    )
