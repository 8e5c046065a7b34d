"""IR nodes of the CUBA LIF whose subtractive reset lands one step late (snnTorch's default ``Leaky``).

The spike of step ``t`` is tested on the membrane before any reset of that step; the threshold is
subtracted at step ``t + 1``, after the decay and the new input, so the remainder is not decayed
with the threshold. The test is **greater-than**, like snnTorch's Heaviside. The kind module
:mod:`latdeploy.neurons.delayed_reset_lif` ties the nodes to their rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from latdeploy.ir.neurons_ext import FloatNeuron, IntNeuron
from latdeploy.ir.nodes import register_node


@register_node
@dataclass
class DelayedResetLIF(FloatNeuron):
    """Float CUBA LIF with a one-step-late subtractive reset, per step::

    u[t] = u[t-1] (1 - current_decay) + a[t]
    v[t] = v[t-1] (1 - voltage_decay) + u[t] + bias - s[t-1] threshold
    s[t] = v[t] > threshold                       (v is not reset at step t itself)
    """


@register_node
@dataclass
class DelayedResetLIFInt(IntNeuron):
    """Integer CUBA LIF with a one-step-late soft reset (latdeploy's ``DelayedResetLIFProcess``)::

        u, v as LIFInt ;  theta = vth << 6
        v <- v - theta where s[t-1] ;  s[t] <- v > theta

    The previous spike ``s[t-1]`` (one bit per neuron) is cleared with ``u`` and ``v`` at each
    sample's start.
    """
