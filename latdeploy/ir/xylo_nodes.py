"""The integer node of a SynSense Xylo layer: its synapses and its neurons in one node.

Xylo saturates each neuron's synaptic current after every presynaptic source in turn
(``latdeploy.sim.xylo_core``), so the summed synaptic input of a step is not a value of its
own on Xylo: the synapses and the neurons they feed are one node, :class:`XyloIAFInt`.
Every width and range is :data:`latdeploy.hw.arithmetic.XYLO`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from latdeploy.errors import QuantizationRangeError
from latdeploy.hw.arithmetic import XYLO
from latdeploy.ir.nodes import Node, register_node

HIDDEN_SPIKES = XYLO.max_spikes_per_step
"""Spikes a hidden neuron may emit in one step (31)."""
READOUT_SPIKES = 1
"""Spikes a readout neuron may emit in one step."""


def _empty() -> np.ndarray:
    return np.zeros(0, np.int32)


@register_node
@dataclass
class XyloIAFInt(Node):
    """A Xylo layer: int8 synapses ``weight`` ``[out, in]`` into 16-bit IAF neurons, per step::

        Isyn <- sat(Isyn + s_j[t] (weight[:, j] << weight_shift))  for each input j in order
        Isyn <- Isyn - step(Isyn, dash_syn)        (step(x, d) = x >> d, at least 1 for x > 0)
        Vmem <- sat(Vmem + sat(sat(Isyn - step(Vmem, dash_mem)) + bias))
        n = min(Vmem // threshold, max_spikes) where Vmem >= threshold ;  Vmem <- Vmem - n threshold

    ``sat`` clips to 16-bit two's complement. ``max_spikes`` is 31 for hidden neurons, 1 for
    Xylo's readout neurons. ``input_lag`` is the step Xylo adds between the input and this layer:
    0 for the first hidden layer (fed by the input channels), 1 for a layer fed by neurons.
    """

    weight: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int32))
    weight_shift: int = 0
    dash_syn: np.ndarray = field(default_factory=_empty)
    dash_mem: np.ndarray = field(default_factory=_empty)
    threshold: np.ndarray = field(default_factory=_empty)
    bias: np.ndarray = field(default_factory=_empty)
    max_spikes: int = HIDDEN_SPIKES
    input_lag: int = 1
    kind: ClassVar[str] = "neuron"

    def __post_init__(self) -> None:
        super().__post_init__()
        weight = np.asarray(self.weight)
        if weight.ndim != 2 or 0 in weight.shape:
            raise QuantizationRangeError(f"node {self.name!r}: weight must be a non-empty [out, in] matrix")
        out = weight.shape[0]
        half = 1 << (XYLO.weight_bits - 1)
        bias_half = 1 << (XYLO.bias_mantissa_bits - 1)
        limits = {
            "weight": (-half, half - 1),
            "dash_syn": (0, XYLO.decay_unity - 1),
            "dash_mem": (0, XYLO.decay_unity - 1),
            "threshold": (1, XYLO.vth_max),
            "bias": (-bias_half, bias_half - 1),
        }
        for name, (low, high) in limits.items():
            value = np.asarray(getattr(self, name))
            if name != "weight" and value.shape != (out,):
                raise QuantizationRangeError(
                    f"node {self.name!r}: {name} must have {out} values, got shape {value.shape}"
                )
            if not np.issubdtype(value.dtype, np.integer) and not np.array_equal(value, np.round(value)):
                raise QuantizationRangeError(f"node {self.name!r}: {name} must hold integers")
            wide = value.astype(np.float64) if not np.issubdtype(value.dtype, np.integer) else value.astype(np.int64)
            if wide.min() < low or wide.max() > high:
                raise QuantizationRangeError(
                    f"node {self.name!r}: {name} spans [{wide.min():g}, {wide.max():g}], outside Xylo's [{low}, {high}]"
                )
            setattr(self, name, wide.astype(np.int32))
        if not XYLO.weight_exp_min <= self.weight_shift <= XYLO.weight_exp_max:
            raise QuantizationRangeError(
                f"node {self.name!r}: weight_shift {self.weight_shift} outside Xylo's "
                f"[{XYLO.weight_exp_min}, {XYLO.weight_exp_max}]"
            )
        if self.max_spikes not in (READOUT_SPIKES, HIDDEN_SPIKES):
            raise QuantizationRangeError(
                f"node {self.name!r}: max_spikes {self.max_spikes} is neither a readout's "
                f"{READOUT_SPIKES} nor a hidden neuron's {HIDDEN_SPIKES}"
            )
        if self.input_lag not in (0, 1):
            raise QuantizationRangeError(f"node {self.name!r}: input_lag must be 0 or 1, got {self.input_lag}")

    @property
    def size(self) -> int:
        return int(self.weight.shape[0])

    @property
    def levels_max(self) -> int:
        """Largest spike count this layer sends in one step."""
        return self.max_spikes

    def hardware_latency(self) -> int:
        """Return ``input_lag``: Xylo delivers input events in their step, hidden spikes one step later."""
        return self.input_lag

    @classmethod
    def example(cls, rng: np.random.Generator) -> list[Node]:
        """Return a hidden and a readout layer after a 3-channel input (for the node conformance tests)."""
        hidden = cls(
            "hidden",
            ("input",),
            weight=rng.integers(-128, 128, (4, 3)),
            weight_shift=int(rng.integers(0, 8)),
            dash_syn=rng.integers(1, 16, 4),
            dash_mem=rng.integers(0, 16, 4),
            threshold=rng.integers(1, 1 << 15, 4),
            bias=np.zeros(4, np.int32),
            input_lag=0,
        )
        readout = cls(
            "readout",
            ("hidden",),
            weight=rng.integers(-128, 128, (2, 4)),
            dash_syn=rng.integers(1, 16, 2),
            dash_mem=rng.integers(0, 16, 2),
            threshold=rng.integers(1, 1 << 15, 2),
            bias=np.zeros(2, np.int32),
            max_spikes=READOUT_SPIKES,
        )
        return [hidden, readout]
