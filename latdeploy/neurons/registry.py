"""The neuron kinds: :data:`NEURON_KINDS`, looked up by float node, integer node or torch module.

Each kind module registers itself with one line, ``NEURON_KINDS.add(kind.name, kind)``. The
tables that serve every node type (float and fixed-point kernels, quantizers, torch
converters, Lava builders) subscribe to this registry and add (or drop) the kind's entry when a
kind is added (or removed), so a kind registered later, from a test, is seen everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from latdeploy.errors import UnsupportedLayerError
from latdeploy.neurons.base import NeuronKind
from latdeploy.registry import Registry

if TYPE_CHECKING:
    from torch import nn

    from latdeploy.ir.nodes import Node

Listener = Callable[[NeuronKind], None]


class NeuronKinds(Registry[str, NeuronKind]):
    """A :class:`~latdeploy.registry.Registry` of neuron kinds by name that tells its subscribers."""

    def __init__(self) -> None:
        super().__init__("neuron kind", UnsupportedLayerError)
        self._listeners: list[tuple[Listener, Listener]] = []

    def add(self, key: str, value: NeuronKind) -> NeuronKind:
        """Register kind ``value`` under ``key`` (replacing an earlier one) and tell the subscribers.

        A **float-order variant** (a kind whose float step is another framework's expression, e.g.
        ``norse_lif``) shares its integer node with the kind it quantizes to; the integer tables keep
        that first kind (:meth:`of_node` of the integer node returns it).

        Raises:
            ValueError: if ``value`` shares an integer node with a registered kind but differs from it in
                an integer part (comparison, firing rule, state, kernel mode, Lava Process, reset).
        """
        if key in self:
            self.remove(key)
        primary = self._integer_owner(value)
        super().add(key, value)
        for added, _ in self._listeners:
            added(value)
            if primary is not None:
                added(primary)  # the integer tables stay the first kind's
        return value

    def _integer_owner(self, kind: NeuronKind) -> NeuronKind | None:
        """Return the registered kind whose integer node ``kind`` shares (checked alike), or ``None``."""
        for _, other in self.items():
            if other.int_node is kind.int_node:
                parts = ("comparison", "fire", "start", "mode", "lava", "reset", "replay_v_pre", "single_spike")
                differing = [part for part in parts if getattr(other, part) != getattr(kind, part)]
                if differing:
                    raise ValueError(
                        f"neuron kind {kind.name!r} shares the integer node {kind.int_node.__name__} with "
                        f"{other.name!r} but differs in {', '.join(differing)}"
                    )
                return other
        return None

    def register(self, key: str) -> Callable[[NeuronKind], NeuronKind]:
        """Decorator form of :meth:`add`."""
        return lambda value: self.add(key, value)

    def remove(self, key: str) -> NeuronKind:
        """Unregister kind ``key``, tell the subscribers and return the kind.

        Raises:
            UnsupportedLayerError: if no kind ``key`` is registered.
        """
        value = super().remove(key)
        for _, removed in self._listeners:
            removed(value)
        sharing = [kind for _, kind in self.items() if kind.int_node is value.int_node]
        for added, _ in self._listeners:  # a kind sharing the integer node keeps its tables
            for kind in sharing:
                added(kind)
        return value

    def subscribe(self, added: Listener, removed: Listener) -> None:
        """Call ``added(kind)`` for every kind registered now and later, ``removed(kind)`` on removal."""
        self._listeners.append((added, removed))
        for _, kind in self.items():
            added(kind)

    def of_node(self, node_type: type[Node]) -> NeuronKind | None:
        """Return the kind whose float or integer node class is ``node_type`` (``None``: no neuron kind)."""
        for _, kind in self.items():
            if node_type in (kind.float_node, kind.int_node):
                return kind
        return None

    def of_module(self, module: nn.Module) -> NeuronKind | None:
        """Return the kind torch ``module`` is of (:meth:`NeuronKind.accepts`), ``None`` if none."""
        for _, kind in self.items():
            if kind.accepts(module):
                return kind
        return None

    def kind_of(self, node: Node) -> NeuronKind:
        """Return the kind of neuron node ``node``.

        Raises:
            UnsupportedLayerError: ``node '<name>': no neuron kind for <Type>; supported: ...``.
        """
        kind = self.of_node(type(node))
        if kind is None:
            self.get(type(node).__name__, subject=f"node {node.name!r}")
        return kind  # type: ignore[return-value]


NEURON_KINDS = NeuronKinds()
"""Every neuron kind, by name (``"lif"``, ``"soft_reset_lif"``, ``"ttfs"``, ``"multi_threshold_lif"``, ...)."""
