"""The float kernels of the extra neurons equal the torch modules users train, exactly."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.frontend.torch_neurons import neuron_node
from latdeploy.ir import LIF
from latdeploy.ir.neurons_ext import TTFS, MultiThresholdLIF, SoftResetLIF
from latdeploy.nn import neurons
from latdeploy.sim.float_neurons import float_neuron

MODULES = {
    "soft": lambda d: neurons.LIF((2, 3), reset="subtract", **d),
    "ttfs": lambda d: neurons.TTFSNeuron((2, 3), **d),
    "multi_zero": lambda d: neurons.MultiThresholdLIF((2, 3), levels=3, **d),
    "multi_subtract": lambda d: neurons.MultiThresholdLIF((2, 3), levels=4, reset="subtract", **d),
}
NODE_TYPES = {"soft": SoftResetLIF, "ttfs": TTFS, "multi_zero": MultiThresholdLIF, "multi_subtract": MultiThresholdLIF}


@settings(max_examples=20)
@given(
    kind=st.sampled_from(sorted(MODULES)),
    seed=st.integers(0, 2**31 - 1),
    threshold=st.floats(0.05, 3.0),
    current_decay=st.floats(0.0, 1.0),
    voltage_decay=st.floats(0.0, 1.0),
)
def test_float_kernel_equals_torch_module(kind, seed, threshold, current_decay, voltage_decay):
    generator = torch.Generator().manual_seed(seed)
    module = MODULES[kind]({"threshold": threshold, "current_decay": current_decay, "voltage_decay": voltage_decay})
    with torch.no_grad():
        module.bias.copy_(torch.randn(2, 3, generator=generator) * 0.3)
    current = torch.randn(6, 4, 2, 3, generator=generator)
    spikes, v_pre = module(current)
    node = neuron_node(module, "n", ("d",))
    assert type(node) is NODE_TYPES[kind]
    kernel_spikes, kernel_v = float_neuron(node, current.reshape(6, 4, 6))
    assert torch.equal(kernel_spikes, spikes.reshape(6, 4, 6))
    assert torch.equal(kernel_v, v_pre.reshape(6, 4, 6))


def test_stock_lif_and_unknown_modules():
    assert type(neuron_node(neurons.LIF(3), "n", ("d",))) is LIF
    node = neuron_node(neurons.TTFSNeuron(3, bias=False), "n", ("d",))
    assert node.bias.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(Exception, match="not a latdeploy neuron"):
        neuron_node(torch.nn.ReLU(), "n", ("d",))
