"""IR nodes that lava-dl netx networks need and the core node set lacks.

:class:`DelayDenseInt` is Lava's ``DelayDense`` process (``fixed_pt``): integer
all-to-all synapses with a per-synapse delay, which is how netx carries the
axonal delays of a ``.net`` file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from latdeploy.errors import ModelFormatError, QuantizationRangeError
from latdeploy.ir.nodes import WEIGHT_TYPE, Node, _check_weight_scaling, register_node

MAX_DELAY = 62  # netx clamps delays to 62; Lava's DelayDense holds up to 63 on Loihi 2


@register_node
@dataclass
class DelayDenseInt(Node):
    """Integer synapses with per-synapse delays, as Lava's ``DelayDense`` (``fixed_pt``)::

        acc_k[t] = sum_{i: delay[:, i] == k} W[:, i] s[t, i]     (int64, per delay value k)
        a[t]     = int32( sum_k shift(acc_k[t - k], weight_exp) )  (floor shift right when < 0)

    ``weight`` and ``delay`` are ``[out, in]``; ``weight`` as Lava stores it for
    ``num_weight_bits`` (see :class:`~latdeploy.ir.nodes.DenseInt`); ``delay`` in
    ``[0, 62]`` steps. Delay 0 is a plain ``DenseInt``. On hardware ``a[t]`` reaches
    the neuron one step later, like every synapse.
    """

    weight: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int32))
    delay: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int32))
    weight_exp: int = 0
    num_weight_bits: int = 8
    kind: ClassVar[str] = "synapse"

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("weight", "delay"):
            value = np.asarray(getattr(self, name))
            if value.ndim != 2 or 0 in value.shape:
                raise ModelFormatError(f"node {self.name!r}: {name} must be a non-empty 2-D matrix, got {value.shape}")
            if not np.issubdtype(value.dtype, np.integer):
                raise ModelFormatError(f"node {self.name!r}: {name} must be integer, got {value.dtype}")
            if value.min() < np.iinfo(np.int32).min or value.max() > np.iinfo(np.int32).max:
                raise QuantizationRangeError(
                    f"node {self.name!r}: {name} spans [{value.min()}, {value.max()}], beyond 32-bit integers"
                )
            setattr(self, name, value.astype(np.int32))
        if self.delay.shape != self.weight.shape:
            raise ModelFormatError(
                f"node {self.name!r}: delay shape {self.delay.shape} differs from weight shape {self.weight.shape}"
            )
        if self.weight.min() < WEIGHT_TYPE.min() or self.weight.max() > WEIGHT_TYPE.max():
            raise QuantizationRangeError(
                f"node {self.name!r}: weight spans [{self.weight.min()}, {self.weight.max()}], outside the 9-bit range"
            )
        if self.delay.min() < 0 or self.delay.max() > MAX_DELAY:
            raise QuantizationRangeError(
                f"node {self.name!r}: delay spans [{self.delay.min()}, {self.delay.max()}], outside [0, {MAX_DELAY}]"
            )
        _check_weight_scaling(self)

    @property
    def size(self) -> int:
        return int(self.weight.shape[0])

    def algorithmic_delay(self) -> int:
        """Return the longest delay in steps (it shifts spikes in algorithmic and hardware time alike)."""
        return int(self.delay.max())
