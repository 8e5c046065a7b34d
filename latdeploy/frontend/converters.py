"""The torch converter registry and the state converters build the graph in.

:data:`CONVERTERS` (:func:`register_converter`) maps a torch module type (subclasses match too,
the nearest registered base wins, :func:`converter_for`) to ``converter(module, state, path)``,
which appends IR nodes with :meth:`ConversionState.add` (reading ``state.current``, the name of
the value it consumes, and ``state.shape``, that value's per-step shape, e.g. ``(C, H, W)``) or
rewrites the previous node (batch norm folding), records where each node's values come from
(:class:`~latdeploy.frontend.sources.ParameterSource`), and raises
:class:`~latdeploy.errors.UnsupportedLayerError` naming ``path`` for what it cannot map.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.frameworks import load_for
from latdeploy.frontend.sources import FusedPool, ParameterSource
from latdeploy.ir import Node
from latdeploy.ir.conv import Pool2d
from latdeploy.registry import Registry


@dataclass
class ConversionState:
    """The graph being built: its nodes, the value the next layer consumes and that value's shape.

    ``pending_bias`` is a per-value bias (``shape``) left by folded batch norms or layer biases
    (from the layers ``pending_paths``); the next neuron absorbs it into its own bias. ``sources``
    maps node names to the torch parameters they were made from.
    """

    nodes: list[Node]
    current: str
    shape: tuple[int, ...]
    pending_bias: np.ndarray | None = None
    pending_paths: tuple[str, ...] = ()
    counters: dict[str, int] = field(default_factory=dict)
    sources: dict[str, ParameterSource] = field(default_factory=dict)

    def name(self, prefix: str) -> str:
        """Return a fresh node name ``<prefix><k>`` (``k`` counts from 1 per prefix)."""
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}{self.counters[prefix]}"

    def add(self, node: Node, shape: tuple[int, ...], source: ParameterSource | None = None) -> None:
        """Append ``node`` (made from ``source``, if given); it becomes the current value, of per-step ``shape``."""
        self.nodes.append(node)
        self.current = node.name
        self.shape = tuple(int(d) for d in shape)
        if source is not None:
            self.sources[node.name] = source

    @property
    def previous(self) -> Node:
        """The node that produced the current value (passing over a recurrent node, which feeds its own layer)."""
        return next(node for node in reversed(self.nodes) if node.kind != "recurrent")

    def add_bias(self, bias: np.ndarray, path: str) -> None:
        """Add layer ``path``'s ``bias`` (broadcast to ``shape``) to the bias the next neuron absorbs.

        Raises:
            UnsupportedLayerError: if it does not broadcast to the current shape.
        """
        try:
            bias = np.broadcast_to(np.asarray(bias, np.float32), self.shape)
        except ValueError as error:
            raise UnsupportedLayerError(f"layer {path!r}: bias does not fit shape {self.shape}") from error
        self.pending_bias = bias.copy() if self.pending_bias is None else self.pending_bias + bias
        self.pending_paths = (*self.pending_paths, path)

    def take_pending_bias(self) -> tuple[np.ndarray | None, tuple[str, ...]]:
        """Return the pending bias and the paths of the layers it came from, and clear both."""
        taken = (self.pending_bias, self.pending_paths)
        self.pending_bias, self.pending_paths = None, ()
        return taken

    def fused_pool(self) -> FusedPool | None:
        """Return the plain pool (kernel = stride, no padding) producing the current value, which the
        synapse fusion pass merges into the synapse reading it; ``None`` if there is none."""
        pool = self.previous
        if not isinstance(pool, Pool2d) or pool.name != self.current:
            return None
        if (pool.kernel_h, pool.kernel_w) != (pool.stride_h, pool.stride_w) or pool.padding_h or pool.padding_w:
            return None
        factor = 1.0 if pool.mode == "sum" else 1.0 / (pool.kernel_h * pool.kernel_w)
        return FusedPool((pool.kernel_h, pool.kernel_w), factor, (pool.in_channels, pool.in_height, pool.in_width))


Converter = Callable[[nn.Module, ConversionState, str], None]
CONVERTERS: Registry[type[nn.Module], Converter] = Registry("converter", plugins="latdeploy.frontend.plugins")
"""The converter of every supported torch module type."""


def register_converter(*module_types: type[nn.Module]) -> Callable[[Converter], Converter]:
    """Decorator: register ``converter`` for each of ``module_types``; returns the converter."""

    def decorate(converter: Converter) -> Converter:
        for module_type in module_types:
            CONVERTERS.add(module_type, converter)
        return converter

    return decorate


def converter_for(module: nn.Module, path: str) -> Converter:
    """Return the converter of ``module`` (its class or nearest registered base class), loading the
    converters of its framework first if it comes from one (:func:`latdeploy.frontend.frameworks.load_for`).

    Raises:
        UnsupportedLayerError: naming ``path`` and the type if none is registered.
    """
    for _ in range(2):  # a second time after loading the converters of the module's framework
        for cls in type(module).__mro__:
            converter = CONVERTERS.find(cls)
            if converter is not None:
                return converter
        if not load_for(type(module)):
            break
    supported = ", ".join(CONVERTERS.names())
    raise UnsupportedLayerError(
        f"layer {path!r}: {type(module).__module__}.{type(module).__name__} is not supported; supported: {supported}"
    )
