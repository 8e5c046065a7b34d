"""Float kernels of the extra neuron nodes: the very torch modules of :mod:`latdeploy.nn.neurons`.

The float simulator runs each node through the module its torch model used, so
its spikes equal the trained model's exactly (registered with
:func:`latdeploy.sim.float_sim.register_float_kernel`).
"""

from __future__ import annotations

import torch

from latdeploy.ir.neurons_ext import TTFS, FloatNeuron, MultiThresholdLIF, SoftResetLIF
from latdeploy.nn import neurons
from latdeploy.sim.float_sim import register_float_kernel


def torch_neuron(node: FloatNeuron) -> torch.nn.Module:
    """Return the torch neuron module equal to float IR node ``node`` (bias copied in).

    Raises:
        TypeError: if ``node`` is not one of the extra float neuron nodes.
    """
    common = {
        "threshold": node.threshold,
        "current_decay": node.current_decay,
        "voltage_decay": node.voltage_decay,
        "bias": True,
    }
    if isinstance(node, SoftResetLIF):
        module: torch.nn.Module = neurons.LIF(node.size, reset="subtract", **common)
    elif isinstance(node, TTFS):
        module = neurons.TTFSNeuron(node.size, **common)
    elif isinstance(node, MultiThresholdLIF):
        module = neurons.MultiThresholdLIF(node.size, levels=node.levels, reset=node.reset, **common)
    else:
        raise TypeError(f"node {node.name!r}: {type(node).__name__} is not an extra float neuron")
    with torch.no_grad():
        module.bias.copy_(torch.from_numpy(node.bias))
    return module


@register_float_kernel(SoftResetLIF)
@register_float_kernel(TTFS)
@register_float_kernel(MultiThresholdLIF)
def float_neuron(node: FloatNeuron, current: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``node`` on ``current`` ``[T, B, N]`` (float32, time first, as the torch modules).

    Returns:
        ``(spikes, v_pre)``, both ``[T, B, N]`` float32 (graded levels for multi-threshold).
    """
    with torch.no_grad():
        return torch_neuron(node)(current)
