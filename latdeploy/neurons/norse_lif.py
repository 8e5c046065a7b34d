"""Norse 1.1's LIF step in float32, op for op; quantized to Lava's stock LIF (a float-order variant of ``lif``).

Norse (``norse/torch/functional/lif.py``, ``lif_feed_forward_step``; ``c = dt tau_inv`` in float32)::

    i_new = i + x ;  v <- v + c_mem ((v_leak - v) + i_new) ;  i <- i_new + (-c_syn) i_new
    z = v > v_th ;   v <- (1 - z) v + z v_reset                (v_leak = v_reset = 0 here)

:class:`NorseLIFNeuron` evaluates exactly these operations in this order (``LIFBoxCell`` is the same with
``c_syn = 1``: ``i`` is then 0 after every step), so latdeploy's float run is Norse's bit for bit. In
real arithmetic it is the stock CUBA LIF on ``v' = v / c_mem``: ``u = i_new`` (``current_decay = c_syn``),
``v' <- v' (1 - c_mem) + u``, threshold ``v_th / c_mem``; the quantizer hands that node to
:func:`latdeploy.passes.quantize_layers.quantize_layer`, so the integer graph holds Lava's own
``LIFInt``/``LIFReset`` (a layer bias counts in ``v'`` units, as Loihi adds it; Norse's converter
refuses a bias whose current decays).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from latdeploy.hw.profile import Profile
from latdeploy.ir import LIF, Node, NorseLIF
from latdeploy.neurons import lif
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.nn.neurons import CubaNeuron
from latdeploy.passes.quantize_layers import quantize_layer


class NorseLIFNeuron(CubaNeuron):
    """Float torch module of the kind (``forward`` as :class:`latdeploy.nn.neurons.CubaNeuron`): Norse's
    step (module docstring) with ``c_syn = current_decay``, ``c_mem = voltage_decay``; the bias joins the
    input current, as a Norse layer's bias does; fires on ``v > threshold`` and resets ``v`` to 0."""

    def _integrate(self, u: torch.Tensor, v: torch.Tensor, current: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(i, v)`` after one Norse step: ``u`` holds Norse's decayed current ``i``."""
        current = current if self.bias is None else current + self.bias
        i_new = u + current
        v = v + self.voltage_decay * ((0.0 - v) + i_new)
        return i_new + (-self.current_decay) * i_new, v

    def _fire(self, v: torch.Tensor, state: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        s = 1.0 - self._spike(self.threshold - v)  # v > threshold
        return s, v, v * (1.0 - s), None


def stock_equivalent(node: Node) -> LIF:
    """Return the stock float ``LIF`` that ``NorseLIF`` ``node`` is in real arithmetic (on ``v / c_mem``)."""
    return LIF(
        node.name,
        node.inputs,
        threshold=node.threshold / node.voltage_decay,
        current_decay=node.current_decay,
        voltage_decay=node.voltage_decay,
        bias=node.bias,
    )


def quantize(synapse: Node, neuron: Node, profile: Profile, clip_quantile: float, weight_bits: int) -> Any:
    """Quantize ``synapse -> neuron`` as its :func:`stock_equivalent` (Lava's stock ``LIFInt``).

    Returns:
        ``(synapse_int, LIFInt, facts)``; ``facts`` in ``v / c_mem`` units.
    """
    return quantize_layer(synapse, stock_equivalent(neuron), profile, clip_quantile, weight_bits)


KIND = dataclasses.replace(
    lif.KIND,
    name="norse_lif",
    torch_module=NorseLIFNeuron,
    module_options={},
    float_node=NorseLIF,
    quantizer=quantize,
)

NEURON_KINDS.add(KIND.name, KIND)
