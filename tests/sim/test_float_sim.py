from __future__ import annotations

import numpy as np
import torch

import latdeploy
from latdeploy.data import DIGITS, load_split
from latdeploy.flows.prepare import encode
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.sim.float_sim import simulate_float


def test_float_simulator_equals_the_torch_model_on_every_layer_and_step(shipped_model_path):
    model, metadata = latdeploy.load(shipped_model_path)
    test = load_split(DIGITS, "test")
    with torch.no_grad():
        layer_spikes, v_pre = model(torch.from_numpy(test.x))
    trace = simulate_float(graph_from_module(model, metadata), encode(model, test.x))
    for expected, layer in zip(layer_spikes, trace.layers.values(), strict=True):
        assert np.array_equal(expected.permute(1, 0, 2).numpy(), layer.spikes)
    assert np.array_equal(v_pre.permute(1, 0, 2).numpy(), trace.output().v_pre)
