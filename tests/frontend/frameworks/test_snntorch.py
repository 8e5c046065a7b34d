"""snnTorch ``Leaky``/``Synaptic`` against snnTorch itself: briefly trained networks, latdeploy's float
run reproduces snnTorch's own forward spike for spike on every layer, the quantized graph runs the
same in the fixed-point simulator and in real Lava, and what cannot be reproduced is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.nir import ResetAssumedWarning, read_nir
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.profile import load_profile
from latdeploy.ir import LIF, DelayedResetLIF, DelayedResetLIFInt
from latdeploy.passes.quantize import quantize
from latdeploy.sim.float_sim import simulate_float
from tests.frontend.frameworks.lava_parity import assert_lava_equals_fixed
from tests.frontend.frameworks.optional import framework
from tests.frontend.frameworks.training import train_towards_random_rates

snn = framework("snntorch")
snn_utils = framework("snntorch.utils")

T, N_IN, SAMPLES = 16, 20, 32


def _spikes(seed: int, samples: int = SAMPLES) -> np.ndarray:
    return (np.random.default_rng(seed).random((samples, T, N_IN)) < 0.3).astype(np.uint8)


def _neurons(net: nn.Sequential) -> list[nn.Module]:
    return [layer for layer in net if isinstance(layer, snn.SpikingNeuron)]


def _snntorch_run(net: nn.Sequential, spikes: np.ndarray) -> list[torch.Tensor]:
    """Run ``net`` step by step from reset state; return each neuron layer's spikes ``[B, T, N]``."""
    snn_utils.reset(net)
    x = torch.from_numpy(spikes.astype(np.float32))
    recorded: list[list[torch.Tensor]] = [[] for _ in _neurons(net)]
    for step in range(x.shape[1]):
        value, index = x[:, step], 0
        for layer in net:
            value = layer(value)
            if isinstance(layer, snn.SpikingNeuron):
                recorded[index].append(value)
                index += 1
    return [torch.stack(steps, dim=1) for steps in recorded]


def _train(net: nn.Sequential, seed: int, steps: int = 8) -> None:
    """A few Adam steps towards random output rates, so that the weights are not trivial."""
    train_towards_random_rates(net, _snntorch_run, _spikes(seed + 1), seed, steps)


def _leaky(**options) -> nn.Module:
    return snn.Leaky(init_hidden=True, **options)


def _net(make_neuron, bias: bool = True) -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(N_IN, 16, bias=bias), make_neuron(), nn.Linear(16, 5, bias=bias), make_neuron())
    with torch.no_grad():
        for layer in (net[0], net[2]):
            layer.weight.mul_(3.0)
    return net


NETWORKS = {
    "leaky-subtract-learnable": lambda: _net(
        lambda: _leaky(beta=0.85, threshold=0.8, learn_beta=True, learn_threshold=True)
    ),
    "leaky-zero": lambda: _net(lambda: _leaky(beta=0.9, reset_mechanism="zero")),
    "leaky-zero-no-delay": lambda: _net(lambda: _leaky(beta=0.9, reset_mechanism="zero", reset_delay=False)),
    "synaptic-subtract": lambda: _net(
        lambda: snn.Synaptic(alpha=0.7, beta=0.9, init_hidden=True, learn_alpha=True), bias=False
    ),
}


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_latdeploy_float_reproduces_snntorch_spikes_on_every_layer(name):
    net = NETWORKS[name]()
    _train(net, seed=1)
    spikes = _spikes(2)
    expected = _snntorch_run(net, spikes)
    graph = graph_from_module(net, {"input_shape": [N_IN], "timesteps": T})
    neurons = graph.neurons()
    assert len(neurons) == 2
    node_type = LIF if "zero" in name else DelayedResetLIF
    assert all(type(neuron) is node_type for neuron in neurons)
    trace = simulate_float(graph, spikes)
    for neuron, theirs in zip(neurons, expected, strict=True):
        ours = trace.layers[neuron.name].spikes
        theirs = theirs.detach().numpy().astype(np.uint8)
        assert theirs.sum() > 0 and theirs.sum() < theirs.size  # the layer spikes, not everywhere
        assert int((ours != theirs).sum()) == 0, f"{name}: {neuron.name} differs from snnTorch"


def test_quantized_snntorch_leaky_runs_the_same_in_lava():
    pytest.importorskip("lava.magma.core.run_configs")

    net = NETWORKS["leaky-subtract-learnable"]()
    _train(net, seed=3)
    graph = graph_from_module(net, {"input_shape": [N_IN], "timesteps": T})
    int_graph, _ = quantize(graph, load_profile("loihi2"), _spikes(4))
    assert all(type(neuron) is DelayedResetLIFInt for neuron in int_graph.neurons())
    _, _, read_back = assert_lava_equals_fixed(int_graph, _spikes(5, samples=4), states=True)
    assert read_back  # v before the reset, rebuilt from Lava's u and v with the rule replayed


REFUSED = {
    "subtract-no-delay": (lambda: _leaky(beta=0.9, reset_delay=False), "twice the threshold"),
    "none": (lambda: _leaky(beta=0.9, reset_mechanism="none"), "reset_mechanism='none'"),
    "synaptic-zero": (lambda: snn.Synaptic(alpha=0.5, beta=0.9, reset_mechanism="zero"), "discards the input"),
    "inhibition": (lambda: _leaky(beta=0.9, inhibition=True), "inhibition"),
    "graded": (lambda: _leaky(beta=0.9, graded_spikes_factor=2.0), "graded_spikes_factor"),
    "per-neuron-beta": (lambda: _leaky(beta=torch.linspace(0.5, 0.9, 16)), "beta differs per neuron"),
    "synaptic-bias": (lambda: snn.Synaptic(alpha=0.5, beta=0.9), "decays the synaptic bias"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_snntorch_does_differently_is_refused_by_name(name):
    make, reason = REFUSED[name]
    net = nn.Sequential(nn.Linear(N_IN, 16), make())
    with pytest.raises(UnsupportedLayerError, match=f"layer '1': .*{reason}"):
        graph_from_module(net, {"input_shape": [N_IN], "timesteps": T})


def _from_nir(net: nn.Sequential, tmp_path) -> object:
    """Export ``net`` with snnTorch's ``export_to_nir``, write and read the file back."""
    nir = pytest.importorskip("nir")
    export = framework("snntorch.export_nir").export_to_nir
    path = tmp_path / "snntorch.nir"
    nir.write(str(path), export(net, torch.zeros(N_IN)))
    return read_nir(path, dt=1e-4)  # snnTorch exports with dt = 1e-4 s and writes no dt


def _per_neuron_net(**options) -> nn.Sequential:
    """A net whose ``beta``/``threshold`` are per-neuron tensors of one value: snnTorch 1.0 writes scalar
    ones with shape ``()``, which nir 1.0.8's type check refuses when the graph is built."""
    sizes = iter((16, 5))
    return _net(lambda: _leaky(beta=torch.full((n := next(sizes),), 0.9), threshold=torch.ones(n), **options))


def test_snntorch_nir_file_of_a_zero_reset_leaky_reproduces_snntorch(tmp_path):
    net = _per_neuron_net(reset_mechanism="zero")
    _train(net, seed=6)
    with pytest.warns(ResetAssumedWarning, match="v_reset=0 as a reset to zero"):
        graph = _from_nir(net, tmp_path)
    spikes = _spikes(7)
    trace = simulate_float(graph, spikes)
    expected = _snntorch_run(net, spikes)
    for neuron, theirs in zip(graph.neurons(), expected, strict=True):
        theirs = theirs.detach().numpy().astype(np.uint8)
        assert theirs.any() and int((trace.layers[neuron.name].spikes != theirs).sum()) == 0, neuron.name


def test_snntorch_nir_file_of_a_subtract_reset_says_what_it_assumed(tmp_path):
    """NIR cannot carry snnTorch's subtract reset (its file says v_reset=0): the reader warns, naming the
    live module as the exact path; the live module reproduces snnTorch (test above)."""
    net = _per_neuron_net()
    with pytest.warns(ResetAssumedWarning, match="convert the live module"):
        graph = _from_nir(net, tmp_path)
    assert all(type(neuron) is LIF for neuron in graph.neurons())
