"""The float kernels of the extra neurons equal the torch modules users train, exactly."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.ir.neurons_ext import TTFS, MultiThresholdLIF, SoftResetLIF
from latdeploy.nn import neurons
from latdeploy.sim.float_sim import simulate_float

MODULES = {
    "soft": lambda d: neurons.LIF(6, reset="subtract", **d),
    "ttfs": lambda d: neurons.TTFSNeuron(6, **d),
    "multi_zero": lambda d: neurons.MultiThresholdLIF(6, levels=3, **d),
    "multi_subtract": lambda d: neurons.MultiThresholdLIF(6, levels=4, reset="subtract", **d),
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
def test_float_simulation_equals_torch_model(kind, seed, threshold, current_decay, voltage_decay):
    """torch model -> IR (frontend) -> float simulator gives the model's own spikes and membranes."""
    generator = torch.Generator().manual_seed(seed)
    neuron = MODULES[kind]({"threshold": threshold, "current_decay": current_decay, "voltage_decay": voltage_decay})
    model = nn.Sequential(nn.Linear(5, 6, bias=False), neuron)
    with torch.no_grad():
        model[0].weight.copy_(torch.randn(6, 5, generator=generator))
        neuron.bias.copy_(torch.randn(6, generator=generator) * 0.3)
    # F.linear on a weight that requires grad can round differently (1 ulp) from the same values
    # without grad; the simulator holds plain arrays, so the model is compared without grad.
    model.requires_grad_(False)
    spikes = (torch.rand(4, 7, 5, generator=generator) < 0.4).float()  # [B, T, n_in]
    with torch.no_grad():
        expected_spikes, expected_v = model(spikes.transpose(0, 1))
    graph = graph_from_module(model, {"timesteps": 7, "input_shape": [5]})
    node = graph.neurons()[0]
    assert type(node) is NODE_TYPES[kind]
    trace = simulate_float(graph, spikes.numpy())
    layer = trace.layers[node.name]
    assert np.array_equal(layer.spikes, expected_spikes.transpose(0, 1).numpy().astype(np.uint8))
    assert np.array_equal(layer.v_pre, expected_v.transpose(0, 1).numpy())
