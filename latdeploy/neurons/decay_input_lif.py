"""SpikingJelly's ``LIFNode(decay_input=True)`` step in float32, op for op; quantized to the stock neurons
(float-order variants of ``lif`` and ``soft_reset_lif``).

SpikingJelly (``spikingjelly/activation_based/neuron.py``, ``LIFNode``; its default ``decay_input=True``)::

    v <- v + (x - v) / tau            (v_reset = 0: v + (x - (v - 0.)) / tau, the same value)
    s = v >= v_threshold ;  v_reset=None: v <- v - s v_threshold ;  v_reset=0: v <- (1 - s) v

:class:`DecayInputLIFNeuron` evaluates exactly these operations (dividing by the same ``tau``), so
latdeploy's float run is SpikingJelly's bit for bit. In real arithmetic it is the stock neuron on
``v' = tau v``: ``v' <- v' (1 - 1/tau) + x``, threshold ``tau v_threshold`` (``voltage_decay = 1/tau``); the
quantizers hand that node to the stock kinds' quantizers, so the integer graph holds ``LIFInt`` (Lava's ``LIFReset``) or
``SoftResetLIFInt``. A layer bias joins ``x`` (SpikingJelly's order) and counts in ``v'`` units.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from latdeploy.hw.profile import Profile
from latdeploy.ir import LIF, DecayInputLIF, DecayInputSoftLIF, Node, SoftResetLIF
from latdeploy.neurons import lif, soft_reset_lif
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.nn.neurons import CubaNeuron, check_reset


class DecayInputLIFNeuron(CubaNeuron):
    """Float torch module of the kinds (``forward`` as :class:`latdeploy.nn.neurons.CubaNeuron`):
    SpikingJelly's decay-input step (module docstring); fires on ``v >= threshold``; ``reset`` is
    ``"zero"`` or ``"subtract"``. ``current_decay`` must be 1; ``tau = float32(1 / voltage_decay)`` (torch
    divides a float32 tensor by a Python float in float32, so this is SpikingJelly's ``tau`` wherever
    the converter accepts it)."""

    def __init__(
        self,
        size: int | tuple[int, ...],
        threshold: float = 1.0,
        current_decay: float = 1.0,
        voltage_decay: float = 0.5,
        bias: bool = True,
        surrogate: str = "fast_sigmoid",
        reset: str = "zero",
        surrogate_slope: float = 5.0,
    ) -> None:
        super().__init__(size, threshold, current_decay, voltage_decay, bias, surrogate, surrogate_slope)
        self.reset = check_reset(reset)
        if current_decay != 1.0 or not voltage_decay > 0:
            raise ValueError(f"current_decay must be 1 and voltage_decay > 0, got {current_decay}, {voltage_decay}")
        self.tau = float(np.float32(1.0 / voltage_decay))  # what SpikingJelly's float32 division uses

    def _integrate(self, u: torch.Tensor, v: torch.Tensor, current: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(u, v)`` after one step: ``v + (x - v) / tau`` with ``x`` the current plus the bias."""
        x = current if self.bias is None else current + self.bias
        return u, v + (x - v) / self.tau

    def _fire(self, v: torch.Tensor, state: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        s = self._spike(v - self.threshold)  # v >= threshold
        return s, v, (v * (1.0 - s) if self.reset == "zero" else v - s * self.threshold), None


def stock_equivalent(node: Node) -> Node:
    """Return the stock float neuron (``LIF`` or ``SoftResetLIF``) that ``node`` is in real arithmetic
    (on ``tau v``)."""
    node_type = SoftResetLIF if isinstance(node, DecayInputSoftLIF) else LIF
    return node_type(
        node.name,
        node.inputs,
        threshold=node.threshold / node.voltage_decay,
        current_decay=1.0,
        voltage_decay=node.voltage_decay,
        bias=node.bias,
    )


def _quantizer(stock: Any) -> Any:
    def quantize(synapse: Node, neuron: Node, profile: Profile, clip_quantile: float, weight_bits: int) -> Any:
        """Quantize ``synapse -> neuron`` as its :func:`stock_equivalent`; returns the stock kind's result."""
        return stock.quantizer(synapse, stock_equivalent(neuron), profile, clip_quantile, weight_bits)

    return quantize


ZERO = dataclasses.replace(
    lif.KIND,
    name="decay_input_lif",
    torch_module=DecayInputLIFNeuron,
    module_options={"reset": "zero"},
    float_node=DecayInputLIF,
    quantizer=_quantizer(lif.KIND),
)
SOFT = dataclasses.replace(
    soft_reset_lif.KIND,
    name="decay_input_soft_lif",
    torch_module=DecayInputLIFNeuron,
    module_options={"reset": "subtract"},
    float_node=DecayInputSoftLIF,
    quantizer=_quantizer(soft_reset_lif.KIND),
)

NEURON_KINDS.add(ZERO.name, ZERO)
NEURON_KINDS.add(SOFT.name, SOFT)
