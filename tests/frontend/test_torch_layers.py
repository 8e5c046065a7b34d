"""Conv-net layers through the torch frontend: IR structure, float simulation equal to torch, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.ir import AxonalDelay, Conv2d, Dense, Pool2d
from latdeploy.nn.layers import AxonalDelay as TorchAxonalDelay
from latdeploy.nn.layers import SpikeTimeMaxPool2d, SumPool2d
from latdeploy.nn.network import build_model, is_neuron
from latdeploy.nn.neurons import LIF
from latdeploy.sim.float_sim import simulate_float


def run_time_first(layers, x: torch.Tensor) -> list[torch.Tensor]:
    """Run ``layers`` on spikes ``[T, B, ...]`` as the conv nets do; return each neuron layer's spikes."""
    spikes = []
    with torch.no_grad():
        for layer in layers:
            if is_neuron(layer):
                x, _ = layer(x)
                spikes.append(x)
            elif isinstance(layer, TorchAxonalDelay):
                x = layer(x)
            else:
                out = layer(x.flatten(0, 1))
                x = out.reshape(*x.shape[:2], *out.shape[1:])
    return spikes


def _as_ir(spikes: torch.Tensor) -> np.ndarray:
    return spikes.transpose(0, 1).reshape(spikes.shape[1], spikes.shape[0], -1).numpy().astype(np.uint8)


def test_convnet_config_model_simulates_to_the_same_spikes():
    torch.manual_seed(1)
    model = build_model(
        {
            "arch": "convnet",
            "input_shape": [2, 8, 8],
            "timesteps": 6,
            "neuron": {"kind": "lif", "bias": True, "threshold": 0.6},
            "layers": [
                {"type": "conv", "channels": 4, "kernel": 3, "padding": 1, "stride": 2},
                {"type": "neuron"},
                {"type": "avgpool", "kernel": 2},
                {"type": "neuron", "threshold": 0.3},
                {"type": "conv", "channels": 4, "kernel": 1, "groups": 2},
                {"type": "neuron"},
                {"type": "flatten"},
                {"type": "linear", "features": 5},
                {"type": "neuron"},
            ],
        }
    )
    with torch.no_grad():
        for neuron in (m for m in model.layers if is_neuron(m)):
            neuron.bias.uniform_(-0.1, 0.3)
    x = (torch.rand(6, 3, 2, 8, 8) < 0.4).float()
    graph = graph_from_module(model, {"timesteps": 6})
    assert [type(n).__name__ for n in graph.nodes] == [
        "SpikeInput", "Conv2d", "LIF", "Pool2d", "LIF", "Conv2d", "LIF", "Dense", "LIF",
    ]  # fmt: skip
    trace = simulate_float(graph, _as_ir(x))
    expected = run_time_first(model.layers, x)
    assert len(trace.layers) == len(expected)
    for layer, spikes in zip(trace.layers.values(), expected, strict=True):
        assert np.array_equal(layer.spikes, _as_ir(spikes))
    assert sum(int(layer.spikes.sum()) for layer in trace.layers.values()) > 0


def test_sequential_with_sum_pool_max_pool_delay_and_flatten():
    torch.manual_seed(2)
    layers = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1, bias=False),
        LIF((3, 6, 6), threshold=0.4, bias=False),
        SpikeTimeMaxPool2d(2),
        TorchAxonalDelay(2),
        nn.Sequential(SumPool2d(3), LIF((3, 1, 1), threshold=1.0, bias=False)),
        nn.Flatten(),
        nn.Linear(3, 2, bias=False),
        LIF(2, threshold=0.2, bias=False),
    )
    graph = graph_from_module(layers, {"input_shape": [1, 6, 6], "timesteps": 7})
    kinds = [type(n) for n in graph.nodes]
    assert kinds.count(Pool2d) == 2 and AxonalDelay in kinds and Dense in kinds and Conv2d in kinds
    x = (torch.rand(7, 4, 1, 6, 6) < 0.5).float()
    trace = simulate_float(graph, _as_ir(x))
    leaves = [m for m in layers.modules() if not isinstance(m, nn.Sequential)]
    expected = run_time_first(leaves, x)
    layer_traces = list(trace.layers.values())
    assert len(layer_traces) == len(expected) + 1  # the max pool's OR neuron
    for layer, spikes in zip([layer_traces[0], *layer_traces[2:]], expected, strict=True):
        assert np.array_equal(layer.spikes, _as_ir(spikes))
    pooled = nn.functional.max_pool2d(expected[0].flatten(0, 1), 2).reshape(7, 4, -1)
    assert np.array_equal(layer_traces[1].spikes, _as_ir(pooled))
    assert layer_traces[1].spikes.any()


def test_batch_norm_and_biases_fold_into_the_neuron_bias():
    torch.manual_seed(3)
    conv, norm = nn.Conv2d(2, 3, 3, bias=True), nn.BatchNorm2d(3)
    with torch.no_grad():
        norm.running_mean.uniform_(-0.5, 0.5)
        norm.running_var.uniform_(0.5, 2)
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.2, 0.2)
    model = nn.Sequential(conv, norm, LIF((3, 3, 3), threshold=0.5)).eval()
    graph = graph_from_module(model, {"input_shape": [2, 5, 5], "timesteps": 4})
    assert [type(n).__name__ for n in graph.nodes] == ["SpikeInput", "Conv2d", "LIF"]
    x = (torch.rand(4, 5, 2, 5, 5) < 0.5).float()
    with torch.no_grad():
        current = norm(conv(x.flatten(0, 1))).reshape(4, 5, -1)
        folded = torch.nn.functional.conv2d(x.flatten(0, 1), torch.from_numpy(graph.nodes[1].weight)).reshape(4, 5, -1)
    bias = torch.from_numpy(graph.nodes[2].bias - model[2].bias.detach().numpy().reshape(-1))
    assert torch.allclose(folded + bias, current, atol=1e-5)


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), r"layer '1': torch\.nn\.modules\.activation\.ReLU"),
        (nn.Sequential(nn.Conv2d(1, 2, 3, dilation=2), LIF((2, 2, 2))), r"layer '0'.*dilation"),
        (nn.Sequential(nn.Sequential(nn.BatchNorm2d(1))), r"layer '0\.0'.*must directly follow"),
        (nn.Sequential(nn.Conv2d(1, 2, 3)), "last layer must be a neuron"),
        (nn.Sequential(nn.Conv2d(1, 2, 3), LIF((2, 4, 4), current_decay=0.5)), "current_decay 1"),
    ],
)
def test_unsupported_layers_are_named_by_path_and_type(model, match):
    with pytest.raises(UnsupportedLayerError, match=match):
        graph_from_module(model, {"input_shape": [1, 6, 6], "timesteps": 3})
