"""IntegerForward: the fine-tuning forward is the exported fixed-point network, spike for spike."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.errors import UnsupportedLayerError
from latdeploy.flows.prepare import encode
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.profile import load_profile
from latdeploy.nn import build_model
from latdeploy.nn.evaluation import model_inputs
from latdeploy.nn.integer_forward import IntegerForward
from latdeploy.passes.quantize import quantize
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.sim.float_sim import simulate_float
from tests.conftest import small_convnet

PROFILE = load_profile("loihi2")
KINDS = ("lif", "soft", "ttfs", "multi_zero", "multi_subtract")


def _options(kind: str, threshold: float, decays: tuple[float, float], bias: bool) -> tuple[str, dict]:
    options = {"threshold": threshold, "current_decay": decays[0], "voltage_decay": decays[1], "bias": bias}
    if kind == "soft":
        return "lif", {**options, "reset": "subtract"}
    if kind.startswith("multi"):
        return "multi_threshold", {**options, "levels": 3, "reset": "zero" if kind == "multi_zero" else "subtract"}
    return kind, options


def _mlp(kind: str, threshold: float, decays: tuple[float, float], bias: bool, encoder: str, seed: int):
    torch.manual_seed(seed)
    neuron, options = _options(kind, threshold, decays, bias)
    config = {"arch": "mlp", "sizes": [12, 9, 4], "timesteps": 5, "neuron": neuron, "neuron_options": options}
    if encoder == "learned_latency":
        config.update(encoder="learned_latency", input_size=7)
    model = build_model(config)
    with torch.no_grad():
        for linear in model.linears:
            linear.weight.mul_(3.0)  # enough input to fire within 5 steps
        for layer in model.neurons:
            if layer.bias is not None:
                layer.bias.uniform_(-0.2, 0.3)
    return model, {"timesteps": 5}


def _convnet(seed: int, pool: str):
    model = small_convnet(pool, in_channels=1, classes=4, seed=seed)
    with torch.no_grad():
        for layer in model.layers:
            if isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear)):
                layer.weight.mul_(3.0 if pool == "spikemaxpool" else 8.0)  # an average pool divides by 4
    return model, {"timesteps": 4, "input_shape": [1, 8, 8]}


def _export_matches(model, metadata, bits: int, x: np.ndarray) -> tuple[object, object]:
    """Commit the integers, export the model and check the exported network is the trained one."""
    forward = IntegerForward(model, metadata, PROFILE, bits)
    with torch.no_grad():
        trained, _ = forward(model_inputs(x, model.config))
    committed = forward.commit()
    assert all(layer.settled for layer in committed)
    graph = graph_from_module(model, metadata)
    spikes = encode(model, x)
    int_graph, report = quantize(graph, PROFILE, spikes, weight_bits=bits)
    assert all(layer.clip_quantile == 1.0 for layer in report)
    fixed = simulate_fixed(int_graph, spikes)
    exported = fixed.output().spikes
    assert np.array_equal(trained[-1].transpose(0, 1).reshape(exported.shape).numpy(), exported)
    for layer, integers in zip(report, [q for q in committed], strict=False):
        if layer.neuron == integers.neuron.name:
            assert layer.vth == integers.neuron.vth and layer.weight_exp == integers.weight_exp
    return graph, fixed


@settings(max_examples=25)
@given(
    kind=st.sampled_from(KINDS),
    threshold=st.sampled_from([0.5, 1.0, 1.7]),
    decays=st.sampled_from([(1.0, 0.0), (0.5, 0.0), (1.0, 0.125), (0.3, 0.05)]),
    bias=st.booleans(),
    encoder=st.sampled_from(["latency", "learned_latency"]),
    bits=st.sampled_from([8, 4]),
    seed=st.integers(0, 10_000),
)
def test_trained_integers_are_exported_and_float_fires_like_fixed(kind, threshold, decays, bias, encoder, bits, seed):
    """Every neuron kind, decays, both encoders: the fine-tuning forward equals the export's
    fixed-point simulation; with integrate-and-fire dynamics and biases the committed float model
    fires exactly like it on every layer."""
    model, metadata = _mlp(kind, threshold, decays, bias, encoder, seed)
    x = np.random.default_rng(seed).random((24, 7 if encoder == "learned_latency" else 12)).astype(np.float32)
    graph, fixed = _export_matches(model, metadata, bits, x)
    if decays == (1.0, 0.0) and bias:
        float_trace = simulate_float(graph, encode(model, x))
        for name, layer in float_trace.layers.items():
            assert np.array_equal(layer.spikes, fixed.layers[name].spikes), name


@settings(max_examples=6)
@given(seed=st.integers(0, 10_000), bits=st.sampled_from([8, 4]), pool=st.sampled_from(["spikemaxpool", "avgpool"]))
def test_ttfs_convnet_with_pools(seed, bits, pool):
    """Spike-time max pools run as pools; average pools are fused into the next Conv2d / Linear as the export does."""
    model, metadata = _convnet(seed, pool)
    x = np.random.default_rng(seed).random((16, 64)).astype(np.float32)
    graph, fixed = _export_matches(model, metadata, bits, x)
    float_trace = simulate_float(graph, encode(model, x))
    for name, layer in float_trace.layers.items():
        assert np.array_equal(layer.spikes, fixed.layers[name].spikes), name


def test_unsupported_layers_are_refused_naming_the_layer():
    layers = [{"type": "conv", "channels": 2, "kernel": 3}, {"type": "batchnorm"}, {"type": "neuron"}]
    config = {"arch": "convnet", "input_shape": [1, 6, 6], "timesteps": 3, "layers": layers}
    with pytest.raises(UnsupportedLayerError, match="layers.1"):
        IntegerForward(build_model(config), {"timesteps": 3}, PROFILE, 8)


def test_a_pool_before_a_neuron_runs_with_constant_integers_and_the_bias_trains():
    """Any model the frontend converts: an average pool feeding a neuron (no torch weight) runs as the IR's
    Pool2d with its constant integers; the neuron's bias is still trained and committed."""
    torch.manual_seed(3)
    layers = [
        {"type": "conv", "channels": 3, "kernel": 3, "padding": 1},
        {"type": "neuron"},
        {"type": "avgpool", "kernel": 2},
        {"type": "neuron", "threshold": 0.5},
        {"type": "flatten"},
        {"type": "linear", "features": 4},
        {"type": "neuron"},
    ]
    neuron = {"kind": "ttfs", "threshold": 1.0, "bias": True}
    config = {"arch": "convnet", "input_shape": [1, 8, 8], "timesteps": 4, "neuron": neuron, "layers": layers}
    model, metadata = build_model(config), {"timesteps": 4, "input_shape": [1, 8, 8]}
    with torch.no_grad():
        for layer in model.layers:
            if isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear)):
                layer.weight.mul_(3.0)
    x = np.random.default_rng(3).random((16, 64)).astype(np.float32)
    forward = IntegerForward(model, metadata, PROFILE, 8)
    assert len(forward.layers) == 3 and forward.layers[1].weight is None and forward.layers[1].bias is not None
    _export_matches(model, metadata, 8, x)
