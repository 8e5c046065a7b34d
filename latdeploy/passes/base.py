"""The pass contract, written once (as QONNX's ``transformation/base.py`` does).

A pass is a :class:`GraphPass` named verb + object (``FuseSynapseChains``,
``QuantizeForProfile``), one per module of :mod:`latdeploy.passes`. Its :meth:`GraphPass.apply`
takes a :class:`~latdeploy.ir.Graph` and returns a **new** graph; it never mutates the input
graph, its nodes or their arrays (nodes are replaced with ``node.replace(...)``, arrays copied
before they change). Each pass module states what it computes in its docstring, and each pass is
tested as "run, transform, run again, compare" on the float or fixed-point simulator;
``tests/passes/test_pass_contract.py`` checks every registered pass for the no-mutation rule.

Passes register in :data:`PASSES` by class name (``@register_pass``); a flow runs a sequence of
pass instances with :func:`run_passes` (the one shared sequence is
:func:`latdeploy.flows.prepare.prepare_integer_graph`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TypeVar

from latdeploy.ir import Graph
from latdeploy.registry import Registry

PassClass = TypeVar("PassClass", bound="type[GraphPass]")


class GraphPass(ABC):
    """A graph -> graph transformation (see the module docstring for the contract)."""

    @abstractmethod
    def apply(self, graph: Graph) -> Graph:
        """Return the transformed graph; ``graph`` is left exactly as it was.

        Raises:
            LatdeployError: (a subclass naming the node) for a graph the pass cannot transform.
        """

    def __call__(self, graph: Graph) -> Graph:
        return self.apply(graph)


PASSES: Registry[str, type[GraphPass]] = Registry("graph pass")
"""The pass classes by name."""


def register_pass(cls: PassClass) -> PassClass:
    """Class decorator: register a :class:`GraphPass` subclass under its class name and return it."""
    PASSES.add(cls.__name__, cls)
    return cls


def run_passes(graph: Graph, passes: Sequence[GraphPass]) -> Graph:
    """Return ``graph`` transformed by each of ``passes`` in order (the input is not changed)."""
    for graph_pass in passes:
        graph = graph_pass.apply(graph)
    return graph
