"""IR nodes of convolutional layers: 2-D convolution, sum/average pooling, axonal delay.

Layout: a value of shape ``(C, H, W)`` travels flattened in C order (``N = C*H*W``),
like every IR value (``[B, T, N]``); the nodes carry the geometry as int attributes.
Weights use torch's layout ``[C_out, C_in / groups, kH, kW]`` (cross-correlation);
the Lava builder converts them to Lava's ``(C_out, kW, kH, C_in / groups)`` convolution
kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from latdeploy.errors import ModelFormatError, QuantizationRangeError
from latdeploy.ir.nodes import (
    LIF,
    Dense,
    LIFInt,
    Node,
    _integer_weight,
    _require_finite_weight,
    register_node,
)

POOL_MODES = ("avg", "sum")
MAX_AXONAL_DELAY = 62


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Return one output dimension of a convolution or pooling (torch's and Lava's formula, no dilation)."""
    return (size + 2 * padding - kernel) // stride + 1


def _geometry_example(rng: np.random.Generator, channels: int) -> dict[str, int]:
    return {
        "in_channels": channels,
        "in_height": int(rng.integers(3, 7)),
        "in_width": int(rng.integers(3, 7)),
        "stride_h": int(rng.integers(1, 3)),
        "stride_w": int(rng.integers(1, 3)),
        "padding_h": int(rng.integers(0, 2)),
        "padding_w": int(rng.integers(0, 2)),
    }


def _with_neuron(node: Node, integer: bool) -> list[Node]:
    if integer:
        return [node, LIFInt("neuron", (node.name,), bias_mant=np.zeros(node.size, np.int32))]
    return [node, LIF("neuron", (node.name,), bias=np.zeros(node.size, np.float32))]


@dataclass
class _Spatial(Node):
    """Geometry shared by convolution and pooling: input ``(C, H, W)``, stride, padding."""

    in_channels: int = 1
    in_height: int = 1
    in_width: int = 1
    stride_h: int = 1
    stride_w: int = 1
    padding_h: int = 0
    padding_w: int = 0
    kind: ClassVar[str] = "synapse"

    def _check_geometry(self, kernel_h: int, kernel_w: int) -> None:
        for name in ("in_channels", "in_height", "in_width", "stride_h", "stride_w"):
            if int(getattr(self, name)) < 1:
                raise ModelFormatError(f"node {self.name!r}: {name} must be >= 1, got {getattr(self, name)}")
        if min(self.padding_h, self.padding_w) < 0:
            raise ModelFormatError(f"node {self.name!r}: padding must be >= 0")
        if self.out_height < 1 or self.out_width < 1:
            raise ModelFormatError(
                f"node {self.name!r}: kernel {kernel_h}x{kernel_w} does not fit input "
                f"{self.in_height}x{self.in_width} with padding ({self.padding_h}, {self.padding_w})"
            )

    def _kernel(self) -> tuple[int, int]:
        raise NotImplementedError

    @property
    def in_shape(self) -> tuple[int, int, int]:
        """Input shape ``(C, H, W)``."""
        return int(self.in_channels), int(self.in_height), int(self.in_width)

    @property
    def out_height(self) -> int:
        """Output height."""
        return conv_output_size(self.in_height, self._kernel()[0], self.stride_h, self.padding_h)

    @property
    def out_width(self) -> int:
        """Output width."""
        return conv_output_size(self.in_width, self._kernel()[1], self.stride_w, self.padding_w)

    @property
    def out_channels(self) -> int:
        """Output channels."""
        raise NotImplementedError

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """Output shape ``(C, H, W)``."""
        return self.out_channels, self.out_height, self.out_width

    @property
    def size(self) -> int:
        return int(np.prod(self.out_shape))

    def input_size(self) -> int | None:
        return int(np.prod(self.in_shape))


@dataclass
class _ConvBase(_Spatial):
    groups: int = 1

    def _validate_weight(self) -> None:
        if self.weight.ndim != 4 or 0 in self.weight.shape:
            raise ModelFormatError(
                f"node {self.name!r}: weight must be [C_out, C_in/groups, kH, kW], got shape {self.weight.shape}"
            )
        if self.groups < 1 or self.in_channels % self.groups or self.weight.shape[0] % self.groups:
            raise ModelFormatError(
                f"node {self.name!r}: groups {self.groups} must divide in_channels {self.in_channels} "
                f"and out_channels {self.weight.shape[0]}"
            )
        if self.weight.shape[1] * self.groups != self.in_channels:
            raise ModelFormatError(
                f"node {self.name!r}: weight has {self.weight.shape[1]} input channels per group, "
                f"expected {self.in_channels // self.groups}"
            )
        self._check_geometry(*self._kernel())

    def _kernel(self) -> tuple[int, int]:
        return int(self.weight.shape[2]), int(self.weight.shape[3])

    @property
    def out_channels(self) -> int:
        return int(self.weight.shape[0])


@register_node
@dataclass
class Conv2d(_ConvBase):
    """Float 2-D convolution (torch's cross-correlation) applied to every step::

        a[t, o, y, x] = sum_{i, dy, dx} W[o, i, dy, dx] s[t, g(o) + i, y*sh + dy - ph, x*sw + dx - pw]

    (zero outside the input; ``g(o)`` the first input channel of ``o``'s group).
    """

    weight: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0, 0), np.float32))

    @classmethod
    def example(cls, rng: np.random.Generator) -> list[Node]:
        """Return a small random valid ``[node, neuron]`` chain (for registry-wide tests)."""
        groups = int(rng.choice([1, 2]))
        shape = (2 * int(rng.integers(1, 3)), 2 // groups, 3, 3)
        weight = (rng.standard_normal(shape)).astype(np.float32)
        return _with_neuron(cls("node", ("input",), weight=weight, groups=groups, **_geometry_example(rng, 2)), False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.weight = np.asarray(self.weight, dtype=np.float32)
        self._validate_weight()
        _require_finite_weight(self)


@register_node
@dataclass
class Conv2dInt(_ConvBase):
    """Integer 2-D convolution as Lava's ``Conv`` (``fixed_pt``) computes it, per step::

        acc[t] = conv(s[t], W)               (exact integer sums; binary or graded payloads)
        a[t]   = wrap24(acc[t])               ((acc + 2^23) mod 2^24 - 2^23, Lava's signed_clamp)

    Lava's ``Conv`` applies neither ``weight_exp`` nor weight truncation, so the node
    has no exponent: ``weight`` holds the values Lava uses (9-bit signed, on the grid
    the quantizer chose). ``num_weight_bits`` is passed on to Lava as information.
    On hardware ``a[t]`` reaches the neuron one step later.
    """

    weight: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0, 0), np.int32))
    num_weight_bits: int = 8

    @classmethod
    def example(cls, rng: np.random.Generator) -> list[Node]:
        """Return a small random valid ``[node, neuron]`` chain (for registry-wide tests)."""
        groups = int(rng.choice([1, 2]))
        weight = rng.integers(-256, 256, (2 * int(rng.integers(1, 3)), 2 // groups, 2, 3))
        node = cls("node", ("input",), weight=weight, groups=groups, **_geometry_example(rng, 2))
        return _with_neuron(node, True)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.weight = np.asarray(self.weight)
        _integer_weight(self)
        self._validate_weight()
        if not 1 <= self.num_weight_bits <= 8:
            raise QuantizationRangeError(f"node {self.name!r}: num_weight_bits {self.num_weight_bits} outside [1, 8]")


@register_node
@dataclass
class Pool2d(_Spatial):
    """Float pooling per channel and step (torch's ``avg_pool2d``, zero padding counted)::

        a[t, c, y, x] = f * sum_{dy < kH, dx < kW} s[t, c, y*sh + dy - ph, x*sw + dx - pw]

    ``mode = "sum"``: ``f = 1`` (:class:`latdeploy.nn.layers.SumPool2d`); ``"avg"``:
    ``f = 1 / (kH kW)`` (``nn.AvgPool2d``). Quantized to a depthwise :class:`Conv2dInt`.
    """

    kernel_h: int = 2
    kernel_w: int = 2
    mode: str = "avg"

    @classmethod
    def example(cls, rng: np.random.Generator) -> list[Node]:
        """Return a small random valid ``[node, neuron]`` chain (for registry-wide tests)."""
        geometry = {**_geometry_example(rng, 3), "padding_h": 0, "padding_w": 1}
        mode = str(rng.choice(POOL_MODES))
        return _with_neuron(cls("node", ("input",), kernel_h=2, kernel_w=3, mode=mode, **geometry), False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode not in POOL_MODES:
            raise ModelFormatError(f"node {self.name!r}: mode must be one of {POOL_MODES}, got {self.mode!r}")
        if min(self.kernel_h, self.kernel_w) < 1:
            raise ModelFormatError(f"node {self.name!r}: kernel must be >= 1")
        if 2 * self.padding_h > self.kernel_h or 2 * self.padding_w > self.kernel_w:
            raise ModelFormatError(f"node {self.name!r}: padding must be at most half the kernel")
        self._check_geometry(self.kernel_h, self.kernel_w)

    def _kernel(self) -> tuple[int, int]:
        return int(self.kernel_h), int(self.kernel_w)

    @property
    def out_channels(self) -> int:
        return int(self.in_channels)

    def depthwise_weight(self) -> np.ndarray:
        """Return the equivalent depthwise convolution weight ``[C, 1, kH, kW]`` (float64)."""
        factor = 1.0 if self.mode == "sum" else 1.0 / (self.kernel_h * self.kernel_w)
        return np.full((self.in_channels, 1, self.kernel_h, self.kernel_w), factor)


@register_node
@dataclass
class AxonalDelay(Node):
    """Axonal delay of ``steps`` time steps on spikes (float and integer graphs alike)::

        s_out[t] = s_in[t - steps]   (0 for t < steps)

    Part of the algorithm (the torch model shifts too): it adds ``steps`` to both
    clocks and nothing to :meth:`Graph.lag`. On Lava it is a relay through an
    identity ``DelayDense`` (delay ``steps - 1`` plus its own one-step latency).
    """

    neurons: int = 1
    steps: int = 1
    kind: ClassVar[str] = "delay"

    @classmethod
    def example(cls, rng: np.random.Generator) -> list[Node]:
        """Return a small random valid ``[node, dense, neuron]`` chain (for registry-wide tests)."""
        size = int(rng.integers(1, 5))
        delay = cls("node", ("input",), neurons=size, steps=int(rng.integers(1, 4)))
        dense = Dense("dense", ("node",), weight=rng.standard_normal((3, size)).astype(np.float32))
        return [delay, *_with_neuron(dense, False)]

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.neurons < 1:
            raise ModelFormatError(f"node {self.name!r}: neurons must be >= 1, got {self.neurons}")
        if not 1 <= self.steps <= MAX_AXONAL_DELAY + 1:
            raise QuantizationRangeError(
                f"node {self.name!r}: delay {self.steps} outside [1, {MAX_AXONAL_DELAY + 1}] steps"
            )

    @property
    def size(self) -> int:
        return int(self.neurons)

    def input_size(self) -> int | None:
        return int(self.neurons)

    def algorithmic_delay(self) -> int:
        return int(self.steps)
