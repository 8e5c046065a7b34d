"""snnTorch ``RLeaky``/``RSynaptic`` against snnTorch itself: latdeploy's float run (live module and the
recurrent NIR file snnTorch writes) reproduces snnTorch's own forward spike for spike on every layer, the
quantized graph runs the same in the fixed-point simulator and real Lava, and what cannot be reproduced
is refused by name."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.nir import read_nir
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.profile import load_profile
from latdeploy.ir import RecurrentDense, RecurrentDenseInt
from latdeploy.passes.quantize import quantize
from latdeploy.sim.float_sim import simulate_float
from tests.frontend.frameworks.lava_parity import assert_lava_equals_fixed
from tests.frontend.frameworks.optional import framework
from tests.frontend.frameworks.test_snntorch import N_IN, T, _snntorch_run, _spikes, _train

snn = framework("snntorch")


def _rnet(make_neuron, bias: bool = False) -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(N_IN, 16, bias=bias), make_neuron(16), nn.Linear(16, 5, bias=bias))
    net.append(snn.Leaky(beta=0.9, init_hidden=True))
    with torch.no_grad():
        for layer in (net[0], net[2]):
            layer.weight.mul_(3.0)
    return net


NETWORKS = {
    "rleaky-linear": lambda: _rnet(lambda n: snn.RLeaky(beta=0.85, linear_features=n, init_hidden=True)),
    "rleaky-one-to-one": lambda: _rnet(
        lambda n: snn.RLeaky(beta=0.9, all_to_all=False, V=torch.linspace(-0.5, 0.5, n), init_hidden=True)
    ),
    "rsynaptic-linear": lambda: _rnet(
        lambda n: snn.RSynaptic(alpha=0.6, beta=0.85, linear_features=n, init_hidden=True)
    ),
}


def _remove_recurrent_bias(net: nn.Sequential) -> None:
    for layer in net:
        if isinstance(getattr(layer, "recurrent", None), nn.Linear):
            with torch.no_grad():
                layer.recurrent.bias.zero_()


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_latdeploy_float_reproduces_snntorch_recurrent_spikes_on_every_layer(name):
    net = NETWORKS[name]()
    if "rsynaptic" in name:
        _remove_recurrent_bias(net)  # RSynaptic decays the recurrent bias with its current: refused below
    else:  # snntorch.utils.reset does not detach RSynaptic's hidden state, so it trains only one step: untrained
        _train(net, seed=1)
    spikes = _spikes(2)
    expected = _snntorch_run(net, spikes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the recurrent bias order (RoundingOrderWarning) is asserted below
        graph = graph_from_module(net, {"input_shape": [N_IN], "timesteps": T})
    assert [type(n).__name__ for n in graph.nodes[1:4]] == ["Dense", "DelayedResetLIF", "RecurrentDense"]
    assert graph.loops().keys() == {graph.neurons()[0].name}
    trace = simulate_float(graph, spikes)
    for neuron, theirs in zip(graph.neurons(), expected, strict=True):
        ours = trace.layers[neuron.name].spikes
        theirs = theirs.detach().numpy().astype(np.uint8)
        assert theirs.sum() > 0 and theirs.sum() < theirs.size
        assert int((ours != theirs).sum()) == 0, f"{name}: {neuron.name} differs from snnTorch"
    # the recurrence matters: without it the first layer spikes differently
    first = graph.neurons()[0].name
    plain = graph.replace_nodes([n for n in graph.nodes if not isinstance(n, RecurrentDense)])
    assert not np.array_equal(simulate_float(plain, spikes).layers[first].spikes, trace.layers[first].spikes)


def test_snntorch_rleaky_nir_file_reads_as_the_same_recurrent_graph(tmp_path):
    nir = pytest.importorskip("nir")
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(N_IN, 8),
        snn.RLeaky(beta=torch.full((8,), 0.9), threshold=torch.ones(8), linear_features=8, init_hidden=True),
        nn.Linear(8, 5),
        snn.Leaky(beta=torch.full((5,), 0.8), threshold=torch.ones(5), init_hidden=True),
    )
    path = tmp_path / "rleaky.nir"
    nir.write(str(path), framework("snntorch.export_nir").export_to_nir(net, torch.zeros(N_IN)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # snnTorch writes v_reset=0 for its subtract reset (ResetAssumedWarning)
        graph = read_nir(path, dt=1e-4)
    loops = graph.loops()
    assert len(loops) == 1
    ((neuron, loop),) = loops.items()
    assert isinstance(loop, RecurrentDense) and loop.name == "1.w_rec" and neuron == "1.lif"
    # NIR LIF with snnTorch's r = tau/dt: the input gain is 1, so the weights are snnTorch's
    np.testing.assert_allclose(loop.weight, net[1].recurrent.weight.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        graph.node(neuron).bias, (net[0].bias + net[1].recurrent.bias).detach().numpy(), rtol=1e-5, atol=1e-6
    )


def test_quantized_snntorch_rleaky_runs_the_same_in_lava():
    pytest.importorskip("lava.magma.core.run_configs")

    net = NETWORKS["rleaky-linear"]()
    _train(net, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = graph_from_module(net, {"input_shape": [N_IN], "timesteps": T})
    int_graph, _ = quantize(graph, load_profile("loihi2"), _spikes(4))
    assert any(isinstance(node, RecurrentDenseInt) for node in int_graph.nodes)
    fixed, lava, _ = assert_lava_equals_fixed(int_graph, _spikes(5, samples=4))
    for key in ("v_pre", "u", "v"):
        assert np.array_equal(getattr(lava.output(), key), getattr(fixed.output(), key)), key


REFUSED = {
    "rleaky-zero": (
        lambda: snn.RLeaky(beta=0.9, linear_features=16, reset_mechanism="zero", init_hidden=True),
        "discards the input",
    ),
    "rleaky-conv": (
        lambda: snn.RLeaky(beta=0.9, conv2d_channels=1, kernel_size=3, init_hidden=True),
        "Conv2d recurrence",
    ),
    "rsynaptic-bias": (
        lambda: snn.RSynaptic(alpha=0.5, beta=0.9, linear_features=16, init_hidden=True),
        "decays the recurrent bias",
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_snntorch_recurrent_layers_do_differently_is_refused_by_name(name):
    make, reason = REFUSED[name]
    net = nn.Sequential(nn.Linear(N_IN, 16, bias=False), make())
    with pytest.raises(UnsupportedLayerError, match=f"layer '1': .*{reason}"):
        graph_from_module(net, {"input_shape": [N_IN], "timesteps": T})
