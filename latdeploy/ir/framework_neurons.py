"""IR float neurons that evaluate another framework's float32 expression op for op (Norse's ``LIF``,
SpikingJelly's ``LIFNode(decay_input=True)``).

Each is the same network in real arithmetic as a stock CUBA neuron on rescaled ``v``, so it quantizes to
that neuron's integer node (``LIFInt`` or ``SoftResetLIFInt``: Lava's stock arithmetic); only the float
step differs, so that latdeploy's float run equals the framework's own forward pass bit for bit. The kind
modules :mod:`latdeploy.neurons.norse_lif` and :mod:`latdeploy.neurons.decay_input_lif` tie them to their
rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latdeploy.errors import ModelFormatError
from latdeploy.ir.neurons_ext import FloatNeuron
from latdeploy.ir.nodes import Node, register_node


def _example(cls: type[Node], rng: np.random.Generator, current_decay: float) -> Node:
    size = int(rng.integers(1, 5))
    return cls(
        "node",
        ("input",),
        threshold=float(rng.uniform(0.1, 2.0)),
        current_decay=current_decay,
        voltage_decay=float(rng.uniform(0.05, 1.0)),
        bias=rng.standard_normal(size).astype(np.float32),
    )


@register_node
@dataclass
class NorseLIF(FloatNeuron):
    """Norse 1.1's ``LIFCell``/``LIFBoxCell`` step in float32 (``v_leak = v_reset = 0``)::

        i      = i[t-1] + (a[t] + bias)                              (Norse's i_new)
        v[t]   = v[t-1] + voltage_decay ((0 - v[t-1]) + i)           (voltage_decay = dt tau_mem_inv)
        i[t]   = i + (-current_decay) i                               (current_decay = dt tau_syn_inv)
        s[t]   = v[t] > threshold ;  v[t] <- 0 where s[t]

    ``current_decay = 1`` is ``LIFBoxCell`` (no current state). In real arithmetic this is the stock
    ``LIF`` on ``v / voltage_decay`` (threshold ``threshold / voltage_decay``), which it quantizes to.
    """

    @classmethod
    def example(cls, rng: np.random.Generator) -> list[Node]:
        """Return a small random valid ``[node]`` fed by the input (for registry-wide tests)."""
        return [_example(cls, rng, current_decay=float(rng.uniform(0.1, 1.0)))]

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.voltage_decay > 0:
            raise ModelFormatError(f"node {self.name!r}: voltage_decay (dt tau_mem_inv) must be > 0")


@dataclass
class DecayInputNeuron(FloatNeuron):
    """SpikingJelly's ``LIFNode(decay_input=True)`` sub-threshold step in float32 (not a node type itself)::

        v[t] = v[t-1] + ((a[t] + bias) - v[t-1]) / tau      (tau = float32(1 / voltage_decay))

    ``voltage_decay`` is ``1 / tau`` (the decay of the stock neuron on ``tau v`` it quantizes to, threshold
    ``tau threshold``); ``current_decay`` is 1 (no current state).
    """

    @classmethod
    def example(cls, rng: np.random.Generator) -> list[Node]:
        """Return a small random valid ``[node]`` fed by the input (for registry-wide tests)."""
        return [_example(cls, rng, current_decay=1.0)]

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.current_decay != 1.0 or not self.voltage_decay > 0:
            raise ModelFormatError(
                f"node {self.name!r}: current_decay must be 1 and voltage_decay (1/tau) > 0, got "
                f"{self.current_decay} and {self.voltage_decay}"
            )

    @property
    def tau(self) -> float:
        """Return the float32 ``tau`` the step divides by: ``float32(1 / voltage_decay)``."""
        return float(np.float32(1.0 / self.voltage_decay))


@register_node
@dataclass
class DecayInputLIF(DecayInputNeuron):
    """SpikingJelly ``LIFNode(decay_input=True, v_reset=0.)``: ``v`` as :class:`DecayInputNeuron`,
    ``s[t] = v[t] >= threshold``, ``v[t] <- 0`` where ``s[t]``; quantizes to ``LIFInt``."""


@register_node
@dataclass
class DecayInputSoftLIF(DecayInputNeuron):
    """SpikingJelly ``LIFNode(decay_input=True, v_reset=None)``: ``v`` as :class:`DecayInputNeuron`,
    ``s[t] = v[t] >= threshold``, ``v[t] <- v[t] - threshold`` where ``s[t]``; quantizes to ``SoftResetLIFInt``."""
