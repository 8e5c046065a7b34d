"""IR nodes of a recurrent connection: a neuron layer feeding itself through a weight, one step late.

A recurrent node's single input is the neuron layer ``L`` it belongs to, and its current goes back
into ``L``'s own input (no node names it as an input: the graph validator allows this loop, and
only this one, :func:`check_loops`). Per algorithmic step ``t``::

    a_L[t] = a_ff[t] + W_rec @ s_L[t-1]          (s_L[-1] = 0: each sample starts from rest)

which is what a Lava ``Dense`` from ``L``'s ``s_out`` back to its ``a_in`` delivers (every ``Dense``
sends at step ``t + 1`` what it received at ``t``), what snnTorch's ``RLeaky`` computes
(``input + recurrent(spk_prev)``) and what a NIR graph ``LIF -> Linear/Affine -> the same LIF``
means. In hardware time the feed-forward synapse and the recurrent one both deliver one step
after they receive, so the loop adds no lag: ``L``'s lag is its feed-forward path's.

Both nodes have ``kind = "recurrent"``: code that walks feed-forward synapses does not mistake
them for one, and every table that does not know them refuses them by type name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from latdeploy.errors import ModelFormatError
from latdeploy.ir.nodes import (
    LIF,
    Dense,
    DenseInt,
    LIFInt,
    Node,
    _check_weight_scaling,
    _integer_weight,
    _require_finite_weight,
    _require_matrix,
    register_node,
)

RECURRENT_KIND = "recurrent"


def _check_square(node: Node) -> None:
    _require_matrix(node)
    if len(node.inputs) != 1:
        raise ModelFormatError(
            f"node {node.name!r}: a recurrent connection takes exactly one input (its own neuron layer), "
            f"got {len(node.inputs)}"
        )
    rows, columns = node.weight.shape
    if rows != columns:
        raise ModelFormatError(
            f"node {node.name!r}: a recurrent weight maps a layer onto itself and must be square, got {rows}x{columns}"
        )


@register_node
@dataclass
class RecurrentDense(Node):
    """Float recurrent all-to-all synapses of the neuron layer ``inputs[0]`` (``W``: ``[N, N]``, float32)::

    a_L[t] += W @ s_L[t-1]
    """

    weight: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    kind: ClassVar[str] = RECURRENT_KIND

    def __post_init__(self) -> None:
        super().__post_init__()
        self.weight = np.asarray(self.weight, dtype=np.float32)
        _check_square(self)
        _require_finite_weight(self)

    @property
    def size(self) -> int:
        return int(self.weight.shape[0])

    @classmethod
    def example(cls, rng: np.random.Generator) -> list[Node]:
        """Return a small valid ``Dense -> LIF -> RecurrentDense`` chain (for the conformance tests)."""
        return [
            Dense("dense", ("input",), weight=rng.normal(size=(3, 2)).astype(np.float32)),
            LIF("lif", ("dense",), bias=np.zeros(3, np.float32)),
            cls("recurrent", ("lif",), weight=rng.normal(size=(3, 3)).astype(np.float32)),
        ]


@register_node
@dataclass
class RecurrentDenseInt(Node):
    """Integer recurrent synapses, a second Lava ``Dense`` (``fixed_pt``) from the layer's ``s_out``
    to its own ``a_in``; Lava's input port sums the two connections in int32::

        a_L[t] = int32(a_ff[t] + int32(sum_i W[:, i] s_L[t-1, i] << weight_exp))

    ``weight`` as :class:`~latdeploy.ir.DenseInt`'s (after Lava's clipping and truncation).
    """

    weight: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int32))
    weight_exp: int = 0
    num_weight_bits: int = 8
    kind: ClassVar[str] = RECURRENT_KIND

    def __post_init__(self) -> None:
        super().__post_init__()
        self.weight = np.asarray(self.weight)
        _check_square(self)
        _integer_weight(self)
        _check_weight_scaling(self)

    @property
    def size(self) -> int:
        return int(self.weight.shape[0])

    @classmethod
    def example(cls, rng: np.random.Generator) -> list[Node]:
        """Return a small valid ``DenseInt -> LIFInt -> RecurrentDenseInt`` chain (for the conformance tests)."""
        return [
            DenseInt("dense", ("input",), weight=rng.integers(-128, 128, (3, 2)) * 2),
            LIFInt("lif", ("dense",), bias_mant=np.zeros(3, np.int32)),
            cls("recurrent", ("lif",), weight=rng.integers(-128, 128, (3, 3)) * 2, weight_exp=-1),
        ]


def check_loops(nodes: tuple[Node, ...]) -> None:
    """Check the recurrent nodes among ``nodes`` (a graph's, in order): each follows a neuron layer of
    its size, no layer has two, and no node takes one as input (its current goes to its layer only).

    Raises:
        ModelFormatError: naming the node and the rule it breaks.
    """
    by_name = {node.name: node for node in nodes}
    owners: dict[str, str] = {}
    for node in nodes:
        if node.kind == RECURRENT_KIND:
            layer = by_name[node.inputs[0]]
            if layer.kind != "neuron":
                raise ModelFormatError(
                    f"node {node.name!r}: a recurrent connection must follow a neuron layer, "
                    f"{layer.name!r} is a {type(layer).__name__}"
                )
            if layer.name in owners:
                raise ModelFormatError(
                    f"node {node.name!r}: layer {layer.name!r} already has the recurrent connection "
                    f"{owners[layer.name]!r}; merge them into one weight"
                )
            owners[layer.name] = node.name
        for name in node.inputs:
            if by_name[name].kind == RECURRENT_KIND:
                raise ModelFormatError(
                    f"node {node.name!r}: takes the recurrent connection {name!r} as input; a recurrent current "
                    "goes back into its own layer only"
                )


def recurrent_loops(graph_nodes: tuple[Node, ...]) -> dict[str, Node]:
    """Return ``{neuron layer name: its recurrent node}`` for the nodes of a (validated) graph."""
    return {node.inputs[0]: node for node in graph_nodes if node.kind == RECURRENT_KIND}
