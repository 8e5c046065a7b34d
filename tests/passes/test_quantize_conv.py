"""Quantizing conv / pool / delay layers (latdeploy.passes.quantize_conv through quantize)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.profile import load_profile
from latdeploy.ir import AxonalDelay, Conv2dInt, DenseInt
from latdeploy.nn.layers import AxonalDelay as TorchAxonalDelay
from latdeploy.nn.layers import SumPool2d
from latdeploy.nn.neurons import LIF
from latdeploy.passes.quantize import quantize
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.sim.float_sim import simulate_float


def _spikes(rng: np.random.Generator, samples: int, timesteps: int, size: int) -> np.ndarray:
    return (rng.random((samples, timesteps, size)) < 0.3).astype(np.uint8)


def test_conv_pool_delay_network_quantizes_to_lava_nodes_and_agrees_with_float():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, bias=False),
        LIF((4, 6, 6), threshold=0.8, bias=False),
        TorchAxonalDelay(1),
        nn.AvgPool2d(2),
        LIF((4, 3, 3), threshold=0.3, bias=False),
        nn.Flatten(),
        nn.Linear(36, 5, bias=False),
        LIF(5, threshold=0.5, bias=False),
    )
    graph = graph_from_module(model, {"input_shape": [2, 6, 6], "timesteps": 8})
    spikes = _spikes(np.random.default_rng(0), 64, 8, 72)
    integer, report = quantize(graph, load_profile("loihi2"), spikes)
    assert [type(n) for n in integer.nodes[1:]] == [
        Conv2dInt, type(integer.nodes[2]), AxonalDelay, Conv2dInt, type(integer.nodes[2]), DenseInt,
        type(integer.nodes[2]),
    ]  # fmt: skip
    pool = integer.node("pool1")
    assert pool.groups == 4 and len(np.unique(pool.weight)) == 1
    assert [layer.weight_exp for layer in report[:2]] == [0, 0]
    float_trace, fixed_trace = simulate_float(graph, spikes), simulate_fixed(integer, spikes)
    for name, layer in float_trace.layers.items():
        agreement = (layer.spikes == fixed_trace.layers[name].spikes).mean()
        assert agreement > 0.97, (name, agreement)
    assert float_trace.output().spikes.any()


def test_conv_without_weight_exponent_shrinks_its_scale_to_fit_the_threshold():
    """A huge threshold-to-weight ratio needs weight_exp < 0 on a Dense; a Conv scales its weights down instead."""
    model = nn.Sequential(SumPool2d(2), LIF((1, 2, 2), threshold=5000.0, bias=False))
    graph = graph_from_module(model, {"input_shape": [1, 4, 4], "timesteps": 3})
    profile = load_profile("loihi2")
    integer, report = quantize(graph, profile, _spikes(np.random.default_rng(1), 4, 3, 16))
    conv, neuron = integer.nodes[1], integer.nodes[2]
    assert isinstance(conv, Conv2dInt) and report[0].weight_exp == 0
    assert neuron.vth <= (1 << profile["arithmetic.threshold_mantissa_bits"]) - 1
    assert conv.weight.max() * 4 * 64 <= (neuron.vth << 6)  # four spikes never reach 5000
