"""A small conv net end to end: torch -> IR -> ONNX -> integer IR -> fixed point -> real Lava, 0 mismatches."""

from __future__ import annotations

import numpy as np
import onnx
import torch
from torch import nn

from latdeploy.backends.lava import run_lava
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.profile import load_profile
from latdeploy.ir.onnx_io import from_onnx, write_onnx
from latdeploy.nn.encoders import LatencyEncoder
from latdeploy.nn.layers import SumPool2d
from latdeploy.nn.neurons import LIF
from latdeploy.passes.quantize import quantize
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.sim.float_sim import simulate_float


def test_tiny_conv_net_exports_with_zero_fixed_vs_lava_mismatches(tmp_path):
    torch.manual_seed(4)
    timesteps = 6
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, bias=False),
        nn.BatchNorm2d(4),
        LIF((4, 6, 6), threshold=0.5, bias=False),
        SumPool2d(2),
        LIF((4, 3, 3), threshold=1.0, bias=False),
        nn.Conv2d(4, 4, 3, groups=2, bias=False),
        LIF((4, 1, 1), threshold=0.2, bias=False),
        nn.Flatten(),
        nn.Linear(4, 3, bias=False),
        LIF(3, threshold=0.05, bias=False),
    ).eval()
    with torch.no_grad():
        model[1].running_mean.uniform_(-0.2, 0.2)
        model[1].running_var.uniform_(0.5, 1.5)
    images = torch.rand(24, 1, 6, 6)
    with torch.no_grad():
        encoded = LatencyEncoder(timesteps)(images.flatten(1))  # [T, B, 36], one spike per pixel
    spikes = encoded.transpose(0, 1).numpy().astype(np.uint8)
    graph = graph_from_module(model, {"input_shape": [1, 6, 6], "timesteps": timesteps, "dataset": "synthetic"})
    write_onnx(graph, tmp_path / "graph.onnx")
    onnx.checker.check_model(onnx.load(tmp_path / "graph.onnx"), full_check=True)
    integer, _ = quantize(graph, load_profile("loihi2"), spikes[:16])
    write_onnx(integer, tmp_path / "graph.int.onnx")
    loaded = from_onnx(onnx.load(tmp_path / "graph.int.onnx"))
    assert [type(n) for n in loaded.nodes] == [type(n) for n in integer.nodes]

    float_trace = simulate_float(graph, spikes[16:])
    fixed = simulate_fixed(integer, spikes[16:])
    lava = run_lava(integer, spikes[16:])
    mismatches = sum(
        int((layer.spikes != lava.trace.layers[name].spikes).sum()) for name, layer in fixed.layers.items()
    )
    assert mismatches == 0
    for key in ("u", "v", "v_pre"):
        assert np.array_equal(getattr(fixed.output(), key), getattr(lava.trace.output(), key)), key
    assert all(layer.spikes.any() for layer in fixed.layers.values())
    agreement = np.mean([(float_trace.layers[n].spikes == fixed.layers[n].spikes).mean() for n in fixed.layers])
    assert agreement > 0.9
    assert lava.hardware_steps == 8 * timesteps + max(integer.lag(n.name) for n in integer.neurons())


def test_vgg_like_pool_then_conv_chains_fuse_and_run_on_lava_exactly():
    """AvgPool2d -> Conv2d and AvgPool2d -> Flatten -> Linear (no neuron between) become one synapse each."""
    torch.manual_seed(5)
    timesteps = 5
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, bias=False),
        LIF((4, 8, 8), threshold=0.4, bias=False),
        nn.AvgPool2d(2),
        nn.Conv2d(4, 4, 3, padding=1, bias=False),
        LIF((4, 4, 4), threshold=0.1, bias=False),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16, 3, bias=False),
        LIF(3, threshold=0.02, bias=False),
    )
    rng = np.random.default_rng(5)
    spikes = (rng.random((12, timesteps, 128)) < 0.3).astype(np.uint8)
    graph = graph_from_module(model, {"input_shape": [2, 8, 8], "timesteps": timesteps})
    integer, _ = quantize(graph, load_profile("loihi2"), spikes[:8])
    assert [type(n).__name__ for n in integer.nodes] == [
        "SpikeInput", "Conv2dInt", "LIFInt", "Conv2dInt", "LIFInt", "DenseInt", "LIFInt",
    ]  # fmt: skip
    assert integer.node("conv2").stride_h == 2 and integer.node("conv2").weight.shape[2:] == (6, 6)
    fixed = simulate_fixed(integer, spikes[8:])
    lava = run_lava(integer, spikes[8:])
    for name, layer in fixed.layers.items():
        assert np.array_equal(layer.spikes, lava.trace.layers[name].spikes), name
        assert layer.spikes.any(), name
    float_trace = simulate_float(graph, spikes[8:])
    agreement = np.mean([(float_trace.layers[n].spikes == fixed.layers[n].spikes).mean() for n in fixed.layers])
    assert agreement > 0.9
