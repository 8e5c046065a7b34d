"""The graph: nodes in topological order plus metadata (time steps, dataset, ...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from latdeploy.errors import ModelFormatError
from latdeploy.ir.nodes import NODE_TYPES, Node, SpikeInput
from latdeploy.ir.recurrent import check_loops, recurrent_loops


@dataclass
class Graph:
    """A spiking graph: feed-forward, but for recurrent connections.

    ``nodes`` are in topological order and every input name refers to an earlier
    node. The one loop allowed is a recurrent node (:mod:`latdeploy.ir.recurrent`) after a
    neuron layer, whose current goes back into that layer one step late (:meth:`loops`).
    ``metadata`` carries ``timesteps`` and anything the model file said about
    its data (dataset id, classes, decoder).
    """

    nodes: tuple[Node, ...]
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.nodes = tuple(self.nodes)
        seen: dict[str, Node] = {}
        for node in self.nodes:
            if type(node).__name__ not in NODE_TYPES:
                raise ModelFormatError(f"node {node.name!r}: type {type(node).__name__} is not registered")
            if node.name in seen:
                raise ModelFormatError(f"node name {node.name!r} is used twice")
            for name in node.inputs:
                if name not in seen:
                    raise ModelFormatError(f"node {node.name!r}: input {name!r} is not an earlier node")
                expected = node.input_size()
                if expected is not None and seen[name].size != expected:
                    raise ModelFormatError(
                        f"node {node.name!r}: expects {expected} inputs but {name!r} has {seen[name].size}"
                    )
            seen[node.name] = node
        check_loops(self.nodes)
        if "timesteps" not in self.metadata or int(self.metadata["timesteps"]) < 1:
            raise ModelFormatError("graph metadata must give 'timesteps' >= 1")

    @property
    def timesteps(self) -> int:
        """Algorithmic time steps per sample."""
        return int(self.metadata["timesteps"])

    def node(self, name: str) -> Node:
        """Return the node called ``name``.

        Raises:
            KeyError: if there is none.
        """
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    @property
    def input(self) -> SpikeInput:
        """The graph's single spike input."""
        inputs = [n for n in self.nodes if isinstance(n, SpikeInput)]
        if len(inputs) != 1:
            raise ModelFormatError(f"graph must have exactly one SpikeInput, has {len(inputs)}")
        return inputs[0]

    def neurons(self) -> list[Node]:
        """Return the spiking layers in order; the last one is the output layer."""
        return [n for n in self.nodes if n.kind == "neuron"]

    def loops(self) -> dict[str, Node]:
        """Return ``{neuron layer name: its recurrent node}`` (empty for a feed-forward graph)."""
        return recurrent_loops(self.nodes)

    def lag(self, name: str) -> int:
        """Return the hardware latency of node ``name`` in steps: hardware time minus algorithmic time.

        The sum of :meth:`Node.hardware_latency` along the longest path from the input
        (1 per synapse: on Lava every synapse delivers one step after it receives), so
        the spikes of a neuron layer with lag ``k`` at hardware step ``t + k`` are the
        float model's spikes at step ``t``. Axonal delays are part of the algorithm (the
        torch model and both simulators shift by them too), so they add no lag; see
        :meth:`delay` for the steps they add to both clocks.
        """
        node = self.node(name)
        return node.hardware_latency() + max((self.lag(i) for i in node.inputs), default=0)

    def delay(self, name: str) -> int:
        """Return the axonal delay accumulated up to node ``name``: the longest path's sum of
        :meth:`Node.algorithmic_delay` (steps in both algorithmic and hardware time)."""
        node = self.node(name)
        return node.algorithmic_delay() + max((self.delay(i) for i in node.inputs), default=0)

    def max_delay(self) -> int:
        """Return the largest accumulated axonal delay of any node (0 without delays)."""
        return max((self.delay(n.name) for n in self.nodes), default=0)

    def replace_nodes(self, nodes: list[Node], **metadata: Any) -> Graph:
        """Return a new graph with ``nodes`` and this graph's metadata updated by ``metadata``."""
        return Graph(tuple(nodes), {**self.metadata, **metadata})
