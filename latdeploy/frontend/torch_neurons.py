"""IR neuron nodes from the torch neuron modules of :mod:`latdeploy.nn.neurons`."""

from __future__ import annotations

import numpy as np
from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.ir import LIF, Node
from latdeploy.ir.neurons_ext import TTFS, MultiThresholdLIF, SoftResetLIF
from latdeploy.nn import neurons


def neuron_node(module: nn.Module, name: str, inputs: tuple[str, ...]) -> Node:
    """Return the float IR node of torch neuron ``module`` (flattened to ``module.size`` neurons).

    ``LIF`` with ``reset="zero"`` becomes :class:`latdeploy.ir.LIF` (Loihi's stock
    neuron), with ``reset="subtract"`` :class:`SoftResetLIF`; ``TTFSNeuron`` becomes
    :class:`TTFS`; ``MultiThresholdLIF`` becomes :class:`MultiThresholdLIF`. A module
    without bias gets a zero bias.

    Raises:
        UnsupportedLayerError: if ``module`` is not one of those neurons.
    """
    if not isinstance(module, (neurons.LIF, neurons.TTFSNeuron, neurons.MultiThresholdLIF)):
        raise UnsupportedLayerError(
            f"layer {name!r}: {type(module).__name__} is not a latdeploy neuron (LIF, TTFSNeuron, MultiThresholdLIF)"
        )
    bias = (
        module.bias.detach().cpu().numpy().reshape(-1) if module.bias is not None else np.zeros(module.size, np.float32)
    )
    common = {
        "threshold": module.threshold,
        "current_decay": module.current_decay,
        "voltage_decay": module.voltage_decay,
        "bias": bias,
    }
    if isinstance(module, neurons.TTFSNeuron):
        return TTFS(name, inputs, **common)
    if isinstance(module, neurons.MultiThresholdLIF):
        return MultiThresholdLIF(name, inputs, levels=module.levels, reset=module.reset, **common)
    if module.reset == "subtract":
        return SoftResetLIF(name, inputs, **common)
    return LIF(name, inputs, **common)
