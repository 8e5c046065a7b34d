"""Which inputs feed which outputs of a synaptic node: what the mapper needs to know of a layer.

A :class:`Connectivity` answers three questions about a node with ``n_in`` inputs and
``n_out`` outputs (flat indices, in the node's own output layout):

* :meth:`~Connectivity.orders`: candidate permutations of the outputs that keep
  neighbours together (a core holding a contiguous run of one needs few input axons,
  or few distinct kernels); the mapper keeps the candidate that needs fewest cores;
* :meth:`~Connectivity.inputs`: the boolean mask ``[n_in]`` of inputs feeding a set of
  outputs (a core's input axons);
* :meth:`~Connectivity.synapses`: how many synaptic weights a core holding those
  outputs stores (explicit synapses, or one kernel per output channel where the
  profile shares convolution weights).

:func:`connectivity_of` finds the connectivity of a node by its type
(:data:`CONNECTIVITY`, filled by :func:`register_connectivity`); a node type that is not
registered but carries a 2-D ``weight`` ``[out, in]`` is all-to-all; other non-neuron
nodes with as many outputs as inputs (flatten, axonal delay) are one-to-one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from latdeploy.errors import UnsupportedLayerError
from latdeploy.ir import Node
from latdeploy.ir.conv import Conv2d, Conv2dInt, Pool2d


class Connectivity:
    """Base connectivity: one-to-one (output ``i`` reads input ``i``), no stored synapses."""

    def __init__(self, n_in: int, n_out: int) -> None:
        self.n_in, self.n_out = n_in, n_out

    def orders(self) -> list[np.ndarray]:
        """Return candidate placement orders of the outputs (permutations of ``range(n_out)``)."""
        return [np.arange(self.n_out)]

    def inputs(self, outputs: np.ndarray) -> np.ndarray:
        """Return the boolean mask ``[n_in]`` of the inputs that feed ``outputs``."""
        mask = np.zeros(self.n_in, bool)
        mask[outputs] = True
        return mask

    def synapses(self, outputs: np.ndarray, shared: bool) -> int:
        """Return the synaptic weights a core holding ``outputs`` stores (``shared``: kernels stored once)."""
        return 0


class DenseConnectivity(Connectivity):
    """All-to-all synapses ``W [out, in]``: a zero weight needs no synapse and no input axon."""

    def __init__(self, weight: np.ndarray) -> None:
        super().__init__(int(weight.shape[1]), int(weight.shape[0]))
        self.nonzero = np.asarray(weight) != 0

    def inputs(self, outputs: np.ndarray) -> np.ndarray:
        return self.nonzero[outputs].any(axis=0)

    def synapses(self, outputs: np.ndarray, shared: bool) -> int:
        return int(self.nonzero[outputs].sum())


@dataclass(frozen=True)
class ConvGeometry:
    """A 2-D convolution's shapes: input ``[C, H, W]``, output ``[C', H', W']``, kernel, stride,
    padding, dilation and groups, as ``torch.nn.Conv2d`` defines them."""

    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1


class ConvConnectivity(Connectivity):
    """Convolution (and pooling as a grouped convolution). Two placement orders: position-major
    (all channels of an output pixel together: a core covers a band of rows, few input axons)
    and channel-major (a core holds whole channels: few distinct kernels when weights are shared)."""

    def __init__(self, geometry: ConvGeometry) -> None:
        channels, height, width = geometry.in_shape
        out_channels, out_height, out_width = geometry.out_shape
        super().__init__(channels * height * width, out_channels * out_height * out_width)
        if channels % geometry.groups or out_channels % geometry.groups:
            raise UnsupportedLayerError(
                f"convolution with {channels} -> {out_channels} channels cannot form {geometry.groups} groups"
            )
        self.geometry = geometry
        self.in_per_group = channels // geometry.groups
        self.out_per_group = out_channels // geometry.groups
        rows = [self._taps(o, 0).size for o in range(out_height)]
        cols = [self._taps(o, 1).size for o in range(out_width)]
        self.valid_taps = np.outer(rows, cols).astype(np.int64)

    def _taps(self, out_index: int, axis: int) -> np.ndarray:
        g = self.geometry
        start = out_index * g.stride[axis] - g.padding[axis]
        taps = start + g.dilation[axis] * np.arange(g.kernel[axis])
        return taps[(taps >= 0) & (taps < g.in_shape[1 + axis])]

    def orders(self) -> list[np.ndarray]:
        out_channels, out_height, out_width = self.geometry.out_shape
        position_major = np.arange(self.n_out).reshape(out_channels, out_height, out_width).transpose(1, 2, 0)
        return [position_major.reshape(-1), np.arange(self.n_out)]

    def _split(self, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        _, out_height, out_width = self.geometry.out_shape
        channel, position = np.divmod(np.asarray(outputs), out_height * out_width)
        row, col = np.divmod(position, out_width)
        return channel, row, col

    def inputs(self, outputs: np.ndarray) -> np.ndarray:
        g = self.geometry
        channels, height, width = g.in_shape
        _, out_height, out_width = g.out_shape
        channel, row, col = self._split(outputs)
        selected = np.zeros((g.groups, out_height, out_width), bool)
        selected[channel // self.out_per_group, row, col] = True
        pixels = np.zeros((g.groups, height, width), bool)
        for tap_row in range(g.kernel[0]):
            rows = np.arange(out_height) * g.stride[0] - g.padding[0] + tap_row * g.dilation[0]
            row_ok = (rows >= 0) & (rows < height)
            for tap_col in range(g.kernel[1]):
                cols = np.arange(out_width) * g.stride[1] - g.padding[1] + tap_col * g.dilation[1]
                col_ok = (cols >= 0) & (cols < width)
                hit = selected[:, row_ok][:, :, col_ok]
                pixels[:, rows[row_ok][:, None], cols[col_ok][None, :]] |= hit
        return np.repeat(pixels, self.in_per_group, axis=0).reshape(-1)

    def synapses(self, outputs: np.ndarray, shared: bool) -> int:
        channel, row, col = self._split(outputs)
        if shared:
            kernel = self.geometry.kernel[0] * self.geometry.kernel[1]
            return int(np.unique(channel).size * self.in_per_group * kernel)
        return int(self.valid_taps[row, col].sum() * self.in_per_group)


CONNECTIVITY: dict[type[Node], Callable[[Node], Connectivity]] = {}


def register_connectivity(node_type: type[Node]) -> Callable[[Callable[[Node], Connectivity]], Callable]:
    """Decorator: register ``factory(node) -> Connectivity`` for ``node_type`` (and its subclasses)."""

    def decorate(factory: Callable[[Node], Connectivity]) -> Callable[[Node], Connectivity]:
        CONNECTIVITY[node_type] = factory
        return factory

    return decorate


def connectivity_of(node: Node, n_in: int) -> Connectivity:
    """Return the connectivity of ``node`` whose input has ``n_in`` values.

    Raises:
        UnsupportedLayerError: for a node of unknown connectivity whose size differs from its input's.
    """
    for kind in type(node).__mro__:
        if kind in CONNECTIVITY:
            return CONNECTIVITY[kind](node)
    weight = getattr(node, "weight", None)
    if isinstance(weight, np.ndarray) and weight.ndim == 2:
        return DenseConnectivity(weight)
    if node.size == n_in:
        return Connectivity(n_in, n_in)
    raise UnsupportedLayerError(
        f"node {node.name!r}: the mapper does not know which of its {n_in} inputs feed its {node.size} outputs "
        f"({type(node).__name__} has no registered connectivity)"
    )


def _spatial_connectivity(node: Node, kernel: tuple[int, int], groups: int) -> ConvConnectivity:
    return ConvConnectivity(
        ConvGeometry(
            in_shape=node.in_shape,
            out_shape=node.out_shape,
            kernel=kernel,
            stride=(int(node.stride_h), int(node.stride_w)),
            padding=(int(node.padding_h), int(node.padding_w)),
            groups=groups,
        )
    )


@register_connectivity(Conv2d)
@register_connectivity(Conv2dInt)
def _conv_connectivity(node: Node) -> Connectivity:
    return _spatial_connectivity(node, (int(node.weight.shape[2]), int(node.weight.shape[3])), int(node.groups))


@register_connectivity(Pool2d)
def _pool_connectivity(node: Node) -> Connectivity:
    return _spatial_connectivity(node, (int(node.kernel_h), int(node.kernel_w)), int(node.in_channels))
