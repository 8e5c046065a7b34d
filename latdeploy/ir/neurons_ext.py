"""IR neuron kinds beyond Loihi's stock LIF: soft reset, TTFS single spike, multi-threshold graded.

Each kind has a float node (what the torch modules of :mod:`latdeploy.nn.neurons`
compute) and an integer node (what latdeploy's own Lava processes in
:mod:`latdeploy.backends.lava.processes` compute, bit for bit); the kind modules of
:mod:`latdeploy.neurons` tie them together. All share the CUBA
sub-threshold update of Loihi's LIF (float: see :class:`latdeploy.ir.LIF`;
integer: see :class:`latdeploy.ir.LIFInt`, int32 arithmetic, 24-bit wrap of ``u``,
saturation of ``v``, decays rounding toward zero). They differ in the threshold
test and the reset only.

Unlike the stock LIF (``v > vth << 6``), these neurons are programmed the way a
Loihi 2 microcode neuron can be: they compare **greater-or-equal**,
``v >= vth << 6``, like the float model, so ``vth`` is the integer image of the
float threshold itself (``vth >= 1``).

Graded spikes (multi-threshold): the integer payload is the level ``0..levels``
itself, sent on a graded port; the next synapse multiplies it with the weight
(``num_message_bits`` = :func:`message_bits`), as the float ``W @ s`` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latdeploy.errors import ModelFormatError, QuantizationRangeError
from latdeploy.hw.arithmetic import LOIHI
from latdeploy.ir.nodes import FloatNeuronBase, IntNeuronBase, Node, register_node

RESETS = ("zero", "subtract")
MAX_LEVELS = 255
STATE_MAX = LOIHI.v_max  # largest |v| Lava's LIF holds


@dataclass
class FloatNeuron(FloatNeuronBase):
    """Fields shared by the float neuron nodes (one ``bias`` per neuron, flattened; finite)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not np.isfinite(self.bias).all():
            raise ModelFormatError(f"node {self.name!r}: bias holds NaN or infinite values")


@register_node
@dataclass
class SoftResetLIF(FloatNeuron):
    """Float CUBA LIF with subtractive (soft) reset (:class:`latdeploy.nn.LIF`, ``reset="subtract"``)::

    u[t] = u[t-1] (1 - current_decay) + a[t]
    v[t] = v[t-1] (1 - voltage_decay) + u[t] + bias
    s[t] = v[t] >= threshold ;  v[t] <- v[t] - threshold where s[t]
    """


@register_node
@dataclass
class TTFS(FloatNeuron):
    """Float time-to-first-spike neuron (:class:`latdeploy.nn.TTFSNeuron`), at most one spike per sample::

    u, v as SoftResetLIF ;  v[t] <- 0 once the neuron has fired
    s[t] = v[t] >= threshold and not fired before ;  v[t] <- 0 where s[t]
    """


@register_node
@dataclass
class MultiThresholdLIF(FloatNeuron):
    """Float multi-threshold LIF (:class:`latdeploy.nn.MultiThresholdLIF`), graded output::

    u, v as SoftResetLIF
    s[t] = sum_{k=1..levels} (v[t] >= k threshold)   in 0..levels
    reset "zero": v[t] <- 0 where s[t] > 0 ;  "subtract": v[t] <- v[t] - s[t] threshold
    """

    levels: int = 2
    reset: str = "zero"

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_levels(self, self.levels, self.reset)


@dataclass
class IntNeuron(IntNeuronBase):
    """Fields shared by the integer neuron nodes (ranges as Lava's LIF; ``vth >= 1``)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.vth < 1:
            raise QuantizationRangeError(f"node {self.name!r}: vth must be >= 1 (v >= vth << 6), got {self.vth}")

    @property
    def levels_max(self) -> int:
        """Largest spike payload this neuron sends (1 for binary neurons)."""
        return 1


@register_node
@dataclass
class SoftResetLIFInt(IntNeuron):
    """Integer CUBA LIF with soft reset (latdeploy's ``SoftResetLIFProcess``), per step::

    u, v as LIFInt (trunc0 decays, u wraps at 24 bits, v clipped to +-(2^23 - 1))
    s <- v >= (vth << 6) ;  v <- v - (vth << 6) where s
    """


@register_node
@dataclass
class TTFSInt(IntNeuron):
    """Integer TTFS neuron (latdeploy's ``TTFSProcess``), one bit ``fired`` of state per neuron::

        u, v as LIFInt ;  v <- 0 where fired
        s <- v >= (vth << 6) and not fired ;  v <- 0 and fired <- 1 where s

    ``fired`` (with ``u`` and ``v``) is cleared at each sample's start.
    """


@register_node
@dataclass
class MultiThresholdLIFInt(IntNeuron):
    """Integer multi-threshold LIF (latdeploy's ``MultiThresholdLIFProcess``), graded payload::

        u, v as LIFInt ;  theta = vth << 6
        s <- min(levels, v // theta) where v >= theta, else 0      (the payload 0..levels)
        reset "zero": v <- 0 where s > 0 ;  "subtract": v <- v - s theta

    ``levels * theta`` must not exceed ``2^23 - 1`` (the largest ``v``), so every level
    is reachable.
    """

    levels: int = 2
    reset: str = "zero"

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_levels(self, self.levels, self.reset)
        if self.levels * LOIHI.theta(self.vth) > STATE_MAX:
            raise QuantizationRangeError(
                f"node {self.name!r}: levels x (vth << 6) = {self.levels * LOIHI.theta(self.vth)} exceeds the 24-bit "
                f"membrane limit {STATE_MAX}; lower vth (weight_exp) or levels"
            )

    @property
    def levels_max(self) -> int:
        """Largest spike payload this neuron sends."""
        return self.levels


def _check_levels(node: Node, levels: int, reset: str) -> None:
    if not 1 <= levels <= MAX_LEVELS:
        raise ModelFormatError(f"node {node.name!r}: levels must lie in 1..{MAX_LEVELS}, got {levels}")
    if reset not in RESETS:
        raise ModelFormatError(f"node {node.name!r}: reset must be one of {RESETS}, got {reset!r}")


def message_bits(node: Node) -> int:
    """Return the ``num_message_bits`` a synapse fed by ``node`` needs: 0 for binary spikes,
    else the bits of the largest graded payload (``levels_max`` or ``levels``)."""
    levels = int(getattr(node, "levels_max", getattr(node, "levels", 1)))
    return levels.bit_length() if levels > 1 else 0
