"""SpikingJelly ``IFNode``/``LIFNode`` with multi-step ``layer.*`` against SpikingJelly itself: briefly trained
networks, latdeploy's float run reproduces SpikingJelly's own forward spike for spike on every layer (its default
``LIFNode(decay_input=True)`` through the ``decay_input_lif`` kinds, whose float step is SpikingJelly's
``v + (x - v) / tau`` op for op), the
quantized graph runs the same in the fixed-point simulator and in real Lava, and what cannot be reproduced
is refused."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.profile import load_profile
from latdeploy.ir import LIF, DecayInputLIF, DecayInputSoftLIF, SoftResetLIF
from latdeploy.passes.quantize import quantize
from latdeploy.sim.float_sim import simulate_float
from tests.frontend.frameworks.lava_parity import assert_lava_equals_fixed
from tests.frontend.frameworks.optional import framework
from tests.frontend.frameworks.training import train_towards_random_rates

sj = framework("spikingjelly.activation_based")
from spikingjelly.activation_based import functional, layer, neuron  # noqa: E402  (after the skip)

T, N_IN, SAMPLES = 16, 20, 32
CONV_SHAPE = (2, 8, 8)


def _spikes(seed: int, shape: tuple[int, ...] = (N_IN,), samples: int = SAMPLES) -> np.ndarray:
    return (np.random.default_rng(seed).random((samples, T, *shape)) < 0.3).astype(np.uint8)


def _sj_run(net: nn.Sequential, spikes: np.ndarray) -> list[torch.Tensor]:
    """Run ``net`` multi-step on ``[T, B, ...]`` from reset state; return each neuron layer's spikes ``[B, T, N]``."""
    functional.reset_net(net)
    value = torch.from_numpy(spikes.astype(np.float32)).transpose(0, 1)
    recorded = []
    for module in net:
        value = module(value)
        if isinstance(module, neuron.BaseNode):
            recorded.append(value.transpose(0, 1).reshape(spikes.shape[0], spikes.shape[1], -1))
    return recorded


def _train(net: nn.Sequential, seed: int, shape: tuple[int, ...], steps: int = 6) -> None:
    net.train()
    train_towards_random_rates(net, _sj_run, _spikes(seed + 1, shape), seed, steps)
    net.eval()


def _mlp(make_neuron, bias: bool = False) -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(layer.Linear(N_IN, 16, bias=bias), make_neuron(), layer.Linear(16, 5, bias=bias), make_neuron())
    functional.set_step_mode(net, "m")
    with torch.no_grad():
        for module in (net[0], net[2]):
            module.weight.mul_(3.0)
    return net


def _conv(make_neuron, scale: float = 3.0) -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(
        layer.Conv2d(2, 4, 3, padding=1, bias=False),
        make_neuron(),
        layer.AvgPool2d(2),
        layer.Flatten(),
        layer.Linear(4 * 4 * 4, 5, bias=False),
        make_neuron(),
    )
    functional.set_step_mode(net, "m")
    with torch.no_grad():
        net[0].weight.mul_(scale)
        net[4].weight.mul_(scale)
    return net


NETWORKS = {
    "if-hard": (lambda: _mlp(lambda: neuron.IFNode()), LIF, (N_IN,), False),
    "if-soft": (lambda: _mlp(lambda: neuron.IFNode(v_reset=None)), SoftResetLIF, (N_IN,), False),
    # a layer bias reaches v after the sum (Loihi's order), SpikingJelly adds it inside: warned
    "if-hard-bias": (lambda: _mlp(lambda: neuron.IFNode(), bias=True), LIF, (N_IN,), True),
    "lif-no-decay-input-hard": (lambda: _mlp(lambda: neuron.LIFNode(tau=4.0, decay_input=False)), LIF, (N_IN,), False),
    "lif-no-decay-input-soft": (
        lambda: _mlp(lambda: neuron.LIFNode(tau=3.0, decay_input=False, v_reset=None)),
        SoftResetLIF,
        (N_IN,),
        False,
    ),
    "lif-decay-input": (lambda: _mlp(lambda: neuron.LIFNode(tau=2.0)), DecayInputLIF, (N_IN,), False),
    "lif-decay-input-soft": (
        lambda: _mlp(lambda: neuron.LIFNode(tau=2.0, v_reset=None)),
        DecayInputSoftLIF,
        (N_IN,),
        False,
    ),
    # a tau that is no float32 value: SpikingJelly divides by float32(tau), and so does the kind
    "lif-decay-input-odd-tau": (lambda: _mlp(lambda: neuron.LIFNode(tau=1.7)), DecayInputLIF, (N_IN,), False),
    # a layer bias joins x in v + (x - v) / tau, in SpikingJelly's order: exact, no warning
    "lif-decay-input-bias": (lambda: _mlp(lambda: neuron.LIFNode(tau=2.0), bias=True), DecayInputLIF, (N_IN,), False),
    "conv-lif-decay-input": (lambda: _conv(lambda: neuron.LIFNode(tau=2.0), 8.0), DecayInputLIF, CONV_SHAPE, False),
    "conv-lif": (lambda: _conv(lambda: neuron.LIFNode(tau=2.0, decay_input=False)), LIF, CONV_SHAPE, False),
}


@pytest.mark.parametrize("seed", [1, 11])
@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_latdeploy_float_reproduces_spikingjelly_spikes_on_every_layer(name, seed):
    make, node_type, shape, rounding_warned = NETWORKS[name]
    net = make()
    _train(net, seed=seed, shape=shape)
    spikes = _spikes(seed + 1, shape)
    with torch.no_grad():
        expected = _sj_run(net, spikes)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = graph_from_module(net, {"input_shape": list(shape), "timesteps": T})
    said = [w for w in caught if type(w.message).__name__ == "RoundingOrderWarning"]
    assert bool(said) == rounding_warned
    neurons = graph.neurons()
    assert len(neurons) == 2 and all(type(neuron_node) is node_type for neuron_node in neurons)
    trace = simulate_float(graph, spikes)
    for neuron_node, theirs in zip(neurons, expected, strict=True):
        theirs = theirs.numpy().astype(np.uint8)
        assert 0 < theirs.sum() < theirs.size
        assert int((trace.layers[neuron_node.name].spikes != theirs).sum()) == 0, f"{name}: {neuron_node.name}"


@pytest.mark.parametrize("name", ["lif-no-decay-input-hard", "lif-decay-input-bias", "lif-decay-input-soft"])
def test_quantized_spikingjelly_network_runs_the_same_in_lava(name):
    pytest.importorskip("lava.magma.core.run_configs")

    make, _, shape, _ = NETWORKS[name]
    net = make()
    _train(net, seed=3, shape=shape)
    graph = graph_from_module(net, {"input_shape": list(shape), "timesteps": T})
    int_graph, _ = quantize(graph, load_profile("loihi2"), _spikes(4, shape))
    assert_lava_equals_fixed(int_graph, _spikes(5, shape, samples=4))


def _with(module: nn.Module, **attributes: object) -> nn.Module:
    for name, value in attributes.items():
        setattr(module, name, value)
    return module


REFUSED = {
    "v-reset": (lambda: neuron.IFNode(v_reset=-0.5), "v_reset=-0.5"),
    "tau-below-1": (lambda: _with(neuron.LIFNode(tau=2.0), tau=0.5), "tau must be >= 1"),  # SJ asserts at init
    "parametric": (lambda: neuron.ParametricLIFNode(), "ParametricLIFNode is not supported"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_spikingjelly_does_differently_is_refused_by_name(name):
    make, reason = REFUSED[name]
    net = nn.Sequential(layer.Linear(N_IN, 16), make())
    with pytest.raises(UnsupportedLayerError, match=f"layer '1': .*{reason}"):
        graph_from_module(net, {"input_shape": [N_IN], "timesteps": T})
