"""Which inputs feed which outputs of a synaptic node: what the mapper needs to know of a layer.

A :class:`Connectivity` answers four questions about a node with ``n_in`` inputs and
``n_out`` outputs (flat indices, in the node's own output layout):

* :meth:`~Connectivity.orders`: candidate permutations of the outputs that keep
  neighbours together (a core holding a contiguous run of one needs few input axons,
  or few distinct kernels); the mapper keeps the candidate that needs fewest cores;
* :meth:`~Connectivity.inputs`: the boolean mask ``[n_in]`` of inputs feeding a set of
  outputs;
* :meth:`~Connectivity.axons`: how many input axons carry those inputs to a core (one
  per input neuron, or one per input pixel on population axons for convolutions);
* :meth:`~Connectivity.synapses`: how many synaptic weights a core holding those
  outputs stores (explicit synapses, or one kernel per output channel where the
  profile shares convolution weights).

:func:`connectivity_of` finds the connectivity of a node by its type
(:data:`CONNECTIVITY`, a registry whose entries apply to subclasses too); a node type that is not
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
from latdeploy.registry import Registry


class Connectivity:
    """Base connectivity: one-to-one (output ``i`` reads input ``i``), no stored synapses."""

    def __init__(self, n_in: int, n_out: int) -> None:
        self.n_in, self.n_out = n_in, n_out

    def orders(self) -> list[np.ndarray]:
        """Return candidate placement orders of the outputs (permutations of ``range(n_out)``)."""
        return [np.arange(self.n_out)]

    def order_names(self) -> list[str]:
        """Return the names of :meth:`orders`, in the same order (for ``mapping.json``)."""
        return ["index"]

    def population_pixels(self) -> int:
        """Return the input pixels population axons would carry to this node (0: it reads no population axons)."""
        return 0

    def inputs(self, outputs: np.ndarray) -> np.ndarray:
        """Return the boolean mask ``[n_in]`` of the inputs that feed ``outputs``."""
        mask = np.zeros(self.n_in, bool)
        mask[outputs] = True
        return mask

    def synapses(self, outputs: np.ndarray, shared: bool) -> int:
        """Return the synaptic weights a core holding ``outputs`` stores (``shared``: kernels stored once)."""
        return 0

    def axons(self, inputs: np.ndarray, population: bool) -> int:
        """Return the input axons a core needs to receive the inputs marked in the mask ``inputs``.

        One axon per input neuron (``population`` only changes convolutions, see
        :meth:`ConvConnectivity.axons`).
        """
        return int(np.count_nonzero(inputs))


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
    """Convolution (and pooling as a grouped convolution). Placement orders: position-major
    (all channels of an output pixel together: a core covers a band of rows, few input axons),
    channel-major (a core holds whole channels: few distinct kernels when weights are shared)
    and spatial tiles times channel groups.

    ``weight`` (``[out, in / groups, kh, kw]``, optional) lets shared storage keep one copy of
    identical weight blocks: see :func:`stored_taps`.
    """

    def __init__(self, geometry: ConvGeometry, weight: np.ndarray | None = None) -> None:
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
        kernel_taps = geometry.kernel[0] * geometry.kernel[1]
        self.stored_taps = kernel_taps if weight is None else stored_taps(np.asarray(weight), geometry)

    def _taps(self, out_index: int, axis: int) -> np.ndarray:
        g = self.geometry
        start = out_index * g.stride[axis] - g.padding[axis]
        taps = start + g.dilation[axis] * np.arange(g.kernel[axis])
        return taps[(taps >= 0) & (taps < g.in_shape[1 + axis])]

    def orders(self) -> list[np.ndarray]:
        """Return position-major, channel-major, then tile-major orders (see :meth:`tiles`)."""
        out_channels, out_height, out_width = self.geometry.out_shape
        index = np.arange(self.n_out).reshape(out_channels, out_height, out_width)
        position_major = index.transpose(1, 2, 0).reshape(-1)
        return [position_major, np.arange(self.n_out), *(self.tile_order(*tile) for tile in self.tiles())]

    def order_names(self) -> list[str]:
        """Return ``position-major``, ``channel-major``, then ``tiles RxC x channel groups`` per tile shape."""
        tiles = [f"tiles {rows}x{cols} x channel groups" for rows, cols in self.tiles()]
        return ["position-major", "channel-major", *tiles]

    def population_pixels(self) -> int:
        """Return the input's pixels ``H x W``: on population axons the channel travels with the spike."""
        return int(np.prod(self.geometry.in_shape[1:]))

    def tiles(self) -> list[tuple[int, int]]:
        """Return the spatial tile shapes ``(rows, cols)`` of the tile-major orders: square and
        2:1 tiles of powers of two, larger than one pixel and smaller than the whole output."""
        _, out_height, out_width = self.geometry.out_shape
        shapes, side = [], 1
        while side < max(out_height, out_width):
            for rows, cols in ((2 * side, side), (2 * side, 2 * side)):
                shape = (min(rows, out_height), min(cols, out_width))
                if shape != (out_height, out_width) and shape != (1, 1) and shape not in shapes:
                    shapes.append(shape)
            side *= 2
        return shapes

    def tile_order(self, rows: int, cols: int) -> np.ndarray:
        """Return the outputs tile by tile (``rows`` x ``cols`` pixels, row-major tiles), each
        tile channel by channel: a run of it is one spatial tile times a group of channels
        (the block shapes of nengo-loihi's ``BlockShape`` and NxTF's partitions)."""
        out_channels, out_height, out_width = self.geometry.out_shape
        channel, row, col = np.meshgrid(
            np.arange(out_channels), np.arange(out_height), np.arange(out_width), indexing="ij"
        )
        keys = (col % cols, row % rows, channel, col // cols, row // rows)
        return np.lexsort(tuple(key.reshape(-1) for key in keys))

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
            rows = _strided(tap_row * g.dilation[0] - g.padding[0], g.stride[0], out_height, height)
            for tap_col in range(g.kernel[1]):
                cols = _strided(tap_col * g.dilation[1] - g.padding[1], g.stride[1], out_width, width)
                if rows is not None and cols is not None:
                    pixels[:, rows[1], cols[1]] |= selected[:, rows[0], cols[0]]
        return np.repeat(pixels, self.in_per_group, axis=0).reshape(-1)

    def synapses(self, outputs: np.ndarray, shared: bool) -> int:
        channel, row, col = self._split(outputs)
        if shared:
            return int(np.unique(channel).size * self.in_per_group * self.stored_taps)
        return int(self.valid_taps[row, col].sum() * self.in_per_group)

    def axons(self, inputs: np.ndarray, population: bool) -> int:
        """Return the input axons for the input mask ``inputs`` (``[C * H * W]``).

        With ``population`` axons one axon serves every channel of an input pixel, the
        channel travelling in the spike as the population index ("atom"): the axons are the
        distinct input pixels. nengo-loihi builds every convolution so
        (``Synapse(np.prod(input_shape.spatial_shape))`` with the channel as atom,
        pop16/pop32 axons). Without, one axon per input neuron.
        """
        if not population:
            return int(np.count_nonzero(inputs))
        channels, height, width = self.geometry.in_shape
        return int(np.count_nonzero(np.asarray(inputs).reshape(channels, height, width).any(axis=0)))


def stored_taps(weight: np.ndarray, geometry: ConvGeometry) -> int:
    """Return the kernel taps a shared-weight core stores per (output channel, input channel).

    An input pixel's synapses are the kernel taps of one stride phase (its position modulo
    the stride); pixels of phases whose sub-kernels are equal for every channel pair share
    one stored weight block (nengo-loihi's ``axon_to_weight_map``: one block for all axons
    with the same weights and targets). A stride-1 kernel has one phase: all its taps. A
    pooling fused into the next convolution (each tap repeated over the pool window, stride
    = pool size) has equal phases: the taps of the unpooled kernel. Dilated kernels keep
    all taps.
    """
    kernel_h, kernel_w = geometry.kernel
    if geometry.dilation != (1, 1) or weight.ndim != 4 or weight.shape[2:] != (kernel_h, kernel_w):
        return kernel_h * kernel_w
    stride_h, stride_w = geometry.stride
    phases: dict[tuple[tuple[int, ...], bytes], int] = {}
    for row in range(min(stride_h, kernel_h)):
        for col in range(min(stride_w, kernel_w)):
            block = np.ascontiguousarray(weight[:, :, row::stride_h, col::stride_w])
            phases[(block.shape, block.tobytes())] = block.shape[2] * block.shape[3]
    return sum(phases.values())


def _strided(offset: int, stride: int, outputs: int, size: int) -> tuple[slice, slice] | None:
    """Return (output slice, input slice) of the outputs ``o`` whose tap ``offset + o * stride``
    lies in ``[0, size)``, or None if none does."""
    first = max(0, -(offset // stride)) if offset < 0 else 0
    last = min(outputs - 1, (size - 1 - offset) // stride)
    if last < first:
        return None
    return slice(first, last + 1), slice(offset + first * stride, offset + last * stride + 1, stride)


CONNECTIVITY: Registry[type[Node], Callable[[Node], Connectivity]] = Registry("connectivity")
"""``factory(node) -> Connectivity`` per node class; an entry applies to the class's subclasses too."""


def connectivity_of(node: Node, n_in: int) -> Connectivity:
    """Return the connectivity of ``node`` whose input has ``n_in`` values.

    Raises:
        UnsupportedLayerError: for a node of unknown connectivity whose size differs from its input's.
    """
    for kind in type(node).__mro__:
        factory = CONNECTIVITY.find(kind)
        if factory is not None:
            return factory(node)
    weight = getattr(node, "weight", None)
    if isinstance(weight, np.ndarray) and weight.ndim == 2:
        return DenseConnectivity(weight)
    if node.size == n_in:
        return Connectivity(n_in, n_in)
    raise UnsupportedLayerError(
        f"node {node.name!r}: the mapper does not know which of its {n_in} inputs feed its {node.size} outputs "
        f"({type(node).__name__} has no registered connectivity; registered: {', '.join(CONNECTIVITY.names())})"
    )


def _spatial_connectivity(
    node: Node, kernel: tuple[int, int], groups: int, weight: np.ndarray | None
) -> ConvConnectivity:
    return ConvConnectivity(
        ConvGeometry(
            in_shape=node.in_shape,
            out_shape=node.out_shape,
            kernel=kernel,
            stride=(int(node.stride_h), int(node.stride_w)),
            padding=(int(node.padding_h), int(node.padding_w)),
            groups=groups,
        ),
        weight,
    )


@CONNECTIVITY.register(Conv2d)
@CONNECTIVITY.register(Conv2dInt)
def _conv_connectivity(node: Node) -> Connectivity:
    kernel = (int(node.weight.shape[2]), int(node.weight.shape[3]))
    return _spatial_connectivity(node, kernel, int(node.groups), node.weight)


@CONNECTIVITY.register(Pool2d)
def _pool_connectivity(node: Node) -> Connectivity:
    kernel = (int(node.kernel_h), int(node.kernel_w))
    return _spatial_connectivity(node, kernel, int(node.in_channels), np.ones((int(node.in_channels), 1, *kernel)))
