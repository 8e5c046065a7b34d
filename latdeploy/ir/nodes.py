"""IR node types. Each is a small dataclass whose docstring states its equation.

Conventions: spike trains are ``[batch, time, neurons]``; ``W`` is ``[out, in]``.
Fields typed ``np.ndarray`` are tensors (ONNX initializers); ``int``, ``float`` and
``str`` fields are attributes. :func:`register_node` puts a class in
:data:`NODE_TYPES` (a :class:`~latdeploy.registry.Registry` by class name), the one list that
dict/JSON and ONNX conversion read. Every width and range is
:data:`latdeploy.hw.arithmetic.LOIHI`'s (the arithmetic of the Lava processes the integer nodes
describe).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

from latdeploy.errors import ModelFormatError, QuantizationRangeError
from latdeploy.hw.arithmetic import LOIHI
from latdeploy.ir.types import IntType
from latdeploy.registry import Registry

NODE_TYPES: Registry[str, type[Node]] = Registry("node type", ModelFormatError)
NodeClass = TypeVar("NodeClass", bound="type[Node]")

DU_RANGE = (-1, LOIHI.decay_unity - 1)
"""Lava computes the current decay as ``du + 1`` (its 1-bit ``ds_offset``): ``du = -1`` keeps ``u``
(no decay; netx's ``iDecay`` 0), ``du = 4095`` clears it each step."""
DV_RANGE = (0, LOIHI.decay_unity)
"""Lava's voltage decay (``dm_offset`` 0): ``dv = 4096`` clears ``v`` each step (netx's ``vDecay`` 4096)."""
VTH_RANGE = (0, LOIHI.vth_max + 1)
"""The 17-bit mantissa, plus ``2^17``: ``vth << 6 = 2^23`` lies above every 24-bit ``v`` (never fires;
netx's threshold for a layer without a neuron)."""
BIAS_MANT_TYPE = IntType(LOIHI.bias_mantissa_bits)
BIAS_EXP_TYPE = IntType(LOIHI.bias_exp_max.bit_length(), signed=False)
WEIGHT_TYPE = IntType(LOIHI.weight_bits + 1)
"""Weights as Lava stores them: 8-bit mantissas, mixed sign shifted left once (even values in [-256, 254])."""


def register_node(cls: NodeClass) -> NodeClass:
    """Class decorator: register a node type under its class name and return it."""
    return NODE_TYPES.add(cls.__name__, cls)


@dataclass
class Node:
    """Base of all nodes: a ``name`` and the names of its ``inputs``.

    ``kind`` says what a node produces: ``"input"``, ``"synapse"`` (a current,
    one step of hardware latency) or ``"neuron"`` (spikes).
    """

    name: str
    inputs: tuple[str, ...]
    kind: ClassVar[str] = "node"

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ModelFormatError(f"{type(self).__name__}: node name must be a non-empty string")
        if isinstance(self.inputs, str) or not all(isinstance(name, str) for name in self.inputs):
            raise ModelFormatError(f"node {self.name!r}: inputs must be node names, got {self.inputs!r}")
        self.inputs = tuple(self.inputs)
        _check_scalar_types(self)

    @property
    def size(self) -> int:
        """Number of outputs (neurons or currents) of this node."""
        raise NotImplementedError

    def input_size(self) -> int | None:
        """Return how many values this node expects from each input (``None``: any).

        The default reads a 2-D ``weight`` (``[out, in]``) or, for a neuron, its size.
        """
        weight = getattr(self, "weight", None)
        if isinstance(weight, np.ndarray) and weight.ndim == 2:
            return int(weight.shape[1])
        return self.size if self.kind == "neuron" else None

    def hardware_latency(self) -> int:
        """Return the steps Lava adds to this node beyond the algorithm: 1 for a synapse, else 0."""
        return 1 if self.kind == "synapse" else 0

    def algorithmic_delay(self) -> int:
        """Return the steps this node delays its input in algorithmic time (axonal delays; else 0)."""
        return 0

    def tensor_fields(self) -> dict[str, np.ndarray | None]:
        """Return the node's tensor fields by name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if _is_tensor(f)}

    def attribute_fields(self) -> dict[str, Any]:
        """Return the node's attribute fields (ints, floats, strings) by name."""
        skip = {"name", "inputs"}
        return {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if not _is_tensor(f) and f.name not in skip
        }

    def replace(self, **changes: Any) -> Node:
        """Return a copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)


def _is_tensor(f: dataclasses.Field) -> bool:
    return "ndarray" in str(f.type)


def _check_scalar_types(node: Node) -> None:
    """Check (and normalise numpy scalars of) every ``int``, ``float``, ``str`` and ``bool`` field.

    Raises:
        ModelFormatError: naming the node and field, for a value of another type
            (a float where an int belongs, a bool where a number belongs, a
            non-finite float, ...), so that no later range check compares a string
            or rounds a fraction silently.
    """
    for f in dataclasses.fields(node):
        if f.name in ("name", "inputs") or _is_tensor(f):
            continue
        annotation, value = str(f.type), getattr(node, f.name)
        where = f"node {node.name!r}: field {f.name!r}"
        if annotation == "int":
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                raise ModelFormatError(f"{where} must be an integer, got {value!r}")
            setattr(node, f.name, int(value))
        elif annotation == "float":
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise ModelFormatError(f"{where} must be a number, got {value!r}")
            if not np.isfinite(value):
                raise ModelFormatError(f"{where} must be finite, got {value!r}")
            setattr(node, f.name, float(value))
        elif annotation == "str" and not isinstance(value, str):
            raise ModelFormatError(f"{where} must be a string, got {value!r}")
        elif annotation == "bool" and not isinstance(value, (bool, np.bool_)):
            raise ModelFormatError(f"{where} must be true or false, got {value!r}")


def _require_range(node: Node, what: str, values: np.ndarray | int, kind: IntType) -> None:
    values = np.asarray(values)
    if values.size and (values.min() < kind.min() or values.max() > kind.max()):
        raise QuantizationRangeError(
            f"node {node.name!r}: {what} spans [{values.min()}, {values.max()}], "
            f"outside the {kind.bits}-bit range [{kind.min()}, {kind.max()}]"
        )


def _require_matrix(node: Node) -> None:
    """Check that ``node.weight`` is a non-empty 2-D matrix.

    Raises:
        ModelFormatError: naming the node and the shape found.
    """
    if node.weight.ndim != 2 or 0 in node.weight.shape:
        raise ModelFormatError(
            f"node {node.name!r}: weight must be a non-empty 2-D matrix, got shape {node.weight.shape}"
        )


def _require_finite_weight(node: Node) -> None:
    """Check that the float ``node.weight`` holds no NaN or infinity.

    Raises:
        ModelFormatError: naming the node.
    """
    if not np.isfinite(node.weight).all():
        raise ModelFormatError(f"node {node.name!r}: weight holds NaN or infinite values")


def _integer_weight(node: Node) -> None:
    """Check that ``node.weight`` holds integers within the weight type, then store it as int32.

    Raises:
        ModelFormatError: if the weight's dtype is not an integer one.
        QuantizationRangeError: if a value lies outside the weight type (checked before the cast,
            which would wrap).
    """
    if not np.issubdtype(node.weight.dtype, np.integer):
        raise ModelFormatError(f"node {node.name!r}: weight must be integer, got {node.weight.dtype}")
    _require_range(node, "weight", node.weight, WEIGHT_TYPE)
    node.weight = node.weight.astype(np.int32)


def _check_weight_scaling(node: Node) -> None:
    """Check an integer synapse's ``weight_exp`` (in [-8, 7]) and ``num_weight_bits`` (in [1, 8])."""
    low, high = LOIHI.weight_exp_min, LOIHI.weight_exp_max
    if not low <= node.weight_exp <= high:
        raise QuantizationRangeError(f"node {node.name!r}: weight_exp {node.weight_exp} outside [{low}, {high}]")
    if not 1 <= node.num_weight_bits <= LOIHI.weight_bits:
        raise QuantizationRangeError(
            f"node {node.name!r}: num_weight_bits {node.num_weight_bits} outside [1, {LOIHI.weight_bits}]"
        )


@register_node
@dataclass
class SpikeInput(Node):
    """Graph input: a spike train ``s[t] in {0, 1}^size`` produced on the host.

    ``encoding`` names the host-side encoder (``"latency"``: one spike per input at
    ``t = round((1 - x)(T - 1))``, none for ``x <= 0``).
    """

    neurons: int = 0
    encoding: str = "latency"
    kind: ClassVar[str] = "input"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.inputs:
            raise ModelFormatError(f"node {self.name!r}: a SpikeInput takes no inputs")
        if self.neurons < 1:
            raise ModelFormatError(f"node {self.name!r}: size must be >= 1, got {self.neurons}")

    @property
    def size(self) -> int:
        return self.neurons


@register_node
@dataclass
class Dense(Node):
    """Float all-to-all synapses: ``a[t] = W @ s[t]`` (``W``: ``[out, in]``, float32)."""

    weight: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    kind: ClassVar[str] = "synapse"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.weight = np.asarray(self.weight, dtype=np.float32)
        _require_matrix(self)
        _require_finite_weight(self)

    @property
    def size(self) -> int:
        return int(self.weight.shape[0])


@dataclass
class FloatNeuronBase(Node):
    """Fields and checks shared by the float CUBA neuron nodes (not a node type itself).

    ``threshold > 0``, decays in [0, 1] and one ``bias`` per neuron (flattened).
    """

    threshold: float = 1.0
    current_decay: float = 1.0
    voltage_decay: float = 0.0
    bias: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    kind: ClassVar[str] = "neuron"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.bias = np.asarray(self.bias, dtype=np.float32).reshape(-1)
        if self.bias.size == 0:
            raise ModelFormatError(f"node {self.name!r}: bias must hold one value per neuron")
        if not self.threshold > 0:
            raise ModelFormatError(f"node {self.name!r}: threshold must be > 0, got {self.threshold}")
        for name in ("current_decay", "voltage_decay"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ModelFormatError(f"node {self.name!r}: {name} must lie in [0, 1], got {getattr(self, name)}")

    @property
    def size(self) -> int:
        return int(self.bias.size)


@register_node
@dataclass
class LIF(FloatNeuronBase):
    """Float current-based LIF neuron with reset to zero (Loihi's ``LIF`` in float)::

        u[t] = u[t-1] (1 - current_decay) + a[t]
        v[t] = v[t-1] (1 - voltage_decay) + u[t] + bias
        s[t] = v[t] >= threshold ;  v[t] <- 0 where s[t]

    ``current_decay = 1``, ``voltage_decay = 0`` is integrate-and-fire.
    """


@register_node
@dataclass
class DenseInt(Node):
    """Integer all-to-all synapses as Lava's ``Dense`` (``fixed_pt``) computes them::

        acc[t] = sum_i W[:, i] s[t, i]        (int64; W as Lava stores it)
        a[t]   = int32(acc << weight_exp)      (floor shift right when weight_exp < 0)

    ``weight`` holds the values after Lava's ``clip_weights``/``truncate_weights``
    for ``num_weight_bits`` (mixed sign: even values in [-256, 254] at 8 bits).
    On hardware ``a[t]`` reaches the neuron one step later.
    """

    weight: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int32))
    weight_exp: int = 0
    num_weight_bits: int = 8
    kind: ClassVar[str] = "synapse"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.weight = np.asarray(self.weight)
        _require_matrix(self)
        _integer_weight(self)
        _check_weight_scaling(self)

    @property
    def size(self) -> int:
        return int(self.weight.shape[0])


@dataclass
class IntNeuronBase(Node):
    """Fields and range checks shared by the integer CUBA neuron nodes (not a node type itself).

    ``du``, ``dv``, ``vth``, ``bias_mant`` (one per neuron, flattened) and ``bias_exp``
    in the ranges Lava's fixed-point LIF computes exactly: :data:`DU_RANGE`,
    :data:`DV_RANGE`, :data:`VTH_RANGE` (each one wider than the 12/12/17-bit
    registers at one end, as netx's defaults need), 13-bit ``bias_mant``, 3-bit
    ``bias_exp``.
    """

    du: int = 4095
    dv: int = 0
    vth: int = 1
    bias_mant: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    bias_exp: int = 6
    kind: ClassVar[str] = "neuron"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.bias_mant = np.asarray(self.bias_mant).reshape(-1)
        if self.bias_mant.size == 0 or not np.issubdtype(self.bias_mant.dtype, np.integer):
            raise ModelFormatError(f"node {self.name!r}: bias_mant must hold one integer per neuron")
        _require_range(self, "bias_mant", self.bias_mant, BIAS_MANT_TYPE)  # before the cast, which would wrap
        self.bias_mant = self.bias_mant.astype(np.int32)
        for what, (low, high) in (("du", DU_RANGE), ("dv", DV_RANGE), ("vth", VTH_RANGE)):
            if not low <= getattr(self, what) <= high:
                raise QuantizationRangeError(
                    f"node {self.name!r}: {what} {getattr(self, what)} outside Lava's fixed-point range [{low}, {high}]"
                )
        _require_range(self, "bias_exp", self.bias_exp, BIAS_EXP_TYPE)

    @property
    def size(self) -> int:
        return int(self.bias_mant.size)


@register_node
@dataclass
class LIFInt(IntNeuronBase):
    """Integer CUBA LIF neuron as Lava's ``LIF`` (``fixed_pt``) computes it, per step::

        u <- trunc0(u (4096 - (du + 1)) / 4096) + (a << 6)   then u wraps at 24 bits
        v <- trunc0(v (4096 - dv) / 4096) + u + (bias_mant << bias_exp), clipped to +-(2^23 - 1)
        s <- v > (vth << 6) ;  v <- 0 where s

    (int32 arithmetic as Lava's; see ``latdeploy.sim.fixed`` for every cast).
    """
