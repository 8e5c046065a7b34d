"""Norse ``IAFCell``/``LIFCell``/``LIFBoxCell`` against Norse itself: briefly trained networks, latdeploy's float run
reproduces Norse's own forward spike for spike on every layer (``LIF``/``LIFBox`` through the ``norse_lif`` kind,
whose float step is Norse's expression op for op; no warning), the quantized graph runs the same in the
fixed-point simulator and in real Lava, Norse's NIR ``IF`` reads exactly with ``dt=1``, and what cannot be
reproduced is refused."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.profile import load_profile
from latdeploy.ir import LIF, NorseLIF
from latdeploy.passes.quantize import quantize
from latdeploy.sim.float_sim import simulate_float
from tests.frontend.frameworks.lava_parity import assert_lava_equals_fixed
from tests.frontend.frameworks.optional import framework
from tests.frontend.frameworks.training import train_towards_random_rates

norse = framework("norse.torch")
norse_snn = framework("norse.torch.module.snn")

T, N_IN, SAMPLES = 16, 20, 32


def _spikes(seed: int, samples: int = SAMPLES) -> np.ndarray:
    return (np.random.default_rng(seed).random((samples, T, N_IN)) < 0.3).astype(np.uint8)


def _norse_run(net: nn.Sequential, spikes: np.ndarray) -> list[torch.Tensor]:
    """Run the cells of ``net`` step by step from Norse's initial state; return each cell's spikes ``[B, T, N]``."""
    x = torch.from_numpy(spikes.astype(np.float32))
    cells = [index for index, layer in enumerate(net) if isinstance(layer, norse_snn.SNNCell)]
    states: dict[int, object] = dict.fromkeys(cells)
    recorded: list[list[torch.Tensor]] = [[] for _ in cells]
    for step in range(x.shape[1]):
        value = x[:, step]
        for index, layer in enumerate(net):
            if index in states:
                value, states[index] = layer(value, states[index])
                recorded[cells.index(index)].append(value)
            else:
                value = layer(value)
    return [torch.stack(steps, dim=1) for steps in recorded]


def _train(net: nn.Sequential, seed: int, steps: int = 6) -> None:
    """A few Adam steps towards random output rates, so that the weights are not trivial."""
    train_towards_random_rates(net, _norse_run, _spikes(seed + 1), seed, steps)


def _net(make_cell, scale: float, bias: bool = False) -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(N_IN, 16, bias=bias), make_cell(), nn.Linear(16, 5, bias=bias), make_cell())
    with torch.no_grad():
        for layer in (net[0], net[2]):
            layer.weight.mul_(scale)
    return net


LIF_P = {"tau_syn_inv": torch.as_tensor(200.0), "tau_mem_inv": torch.as_tensor(100.0), "v_th": torch.as_tensor(0.5)}
LIF_BOX_P = {"tau_mem_inv": torch.as_tensor(200.0)}
NETWORKS = {
    "iaf": (lambda: _net(lambda: norse.IAFCell(norse.IAFParameters(v_th=torch.as_tensor(0.9))), 3.0), LIF),
    "lif": (lambda: _net(lambda: norse.LIFCell(norse.LIFParameters(**LIF_P)), 6.0), NorseLIF),
    "lif-box": (lambda: _net(lambda: norse.LIFBoxCell(norse.LIFBoxParameters(**LIF_BOX_P)), 12.0), NorseLIF),
    # a layer bias joins Norse's input current; with no current state (c_syn = 1) the kind adds it there too
    "lif-box-bias": (
        lambda: _net(lambda: norse.LIFBoxCell(norse.LIFBoxParameters(**LIF_BOX_P)), 12.0, bias=True),
        NorseLIF,
    ),
    "lif-fast-current-bias": (
        lambda: _net(
            lambda: norse.LIFCell(norse.LIFParameters(**{**LIF_P, "tau_syn_inv": torch.as_tensor(1000.0)})),
            6.0,
            bias=True,
        ),  # fmt: skip
        NorseLIF,
    ),
}


@pytest.mark.parametrize("seed", [1, 11, 21])
@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_latdeploy_float_reproduces_norse_spikes_on_every_layer(name, seed):
    make, node_type = NETWORKS[name]
    net = make()
    _train(net, seed=seed)
    spikes = _spikes(seed + 1)
    expected = _norse_run(net, spikes)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = graph_from_module(net, {"input_shape": [N_IN], "timesteps": T})
    said = [str(w.message) for w in caught if type(w.message).__name__ == "RoundingOrderWarning"]
    assert not said, said  # every layer converts bit for bit: nothing to warn about
    neurons = graph.neurons()
    assert len(neurons) == 2 and all(type(neuron) is node_type for neuron in neurons)
    trace = simulate_float(graph, spikes)
    for neuron, theirs in zip(neurons, expected, strict=True):
        theirs = theirs.detach().numpy().astype(np.uint8)
        assert 0.02 * theirs.size < theirs.sum() < theirs.size  # the layer spikes often, not everywhere
        assert int((trace.layers[neuron.name].spikes != theirs).sum()) == 0, f"{name}: {neuron.name} differs"


@pytest.mark.parametrize("name", ["lif", "lif-box-bias"])
def test_quantized_norse_lif_runs_the_same_in_lava(name):
    """``NorseLIF`` quantizes to Lava's stock ``LIFInt`` (on ``v / c_mem``): 0 fixed-vs-Lava mismatches."""
    pytest.importorskip("lava.magma.core.run_configs")
    from latdeploy.ir import LIFInt

    net = NETWORKS[name][0]()
    _train(net, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = graph_from_module(net, {"input_shape": [N_IN], "timesteps": T})
    int_graph, _ = quantize(graph, load_profile("loihi2"), _spikes(4))
    assert all(type(neuron) is LIFInt for neuron in int_graph.neurons())
    assert_lava_equals_fixed(int_graph, _spikes(5, samples=4))


def test_norse_nir_of_iaf_cells_reads_exactly_with_dt_1():
    """Norse writes ``IAFCell`` as ``nir.IF(r=1)`` and no dt: ``v += dt r I`` is Norse's ``v += I`` for ``dt=1``."""
    from norse.torch.utils.export_nir import to_nir

    from latdeploy.errors import ModelFormatError
    from latdeploy.frontend.nir import graph_from_nir

    net = NETWORKS["iaf"][0]()
    _train(net, seed=6)
    written = to_nir(norse.SequentialState(*net), torch.zeros(1, N_IN))
    with pytest.raises(ModelFormatError, match="no time step"):
        graph_from_nir(written)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the IF-signature warning names Sinabs' reset
        graph = graph_from_nir(written, dt=1.0)
    spikes = _spikes(7)
    trace = simulate_float(graph, spikes)
    for neuron, theirs in zip(graph.neurons(), _norse_run(net, spikes), strict=True):
        theirs = theirs.detach().numpy().astype(np.uint8)
        assert theirs.any() and int((trace.layers[neuron.name].spikes != theirs).sum()) == 0, neuron.name


REFUSED = {
    "v-reset": (lambda: norse.IAFCell(norse.IAFParameters(v_reset=torch.as_tensor(0.2))), "v_reset must be 0"),
    "v-leak": (lambda: norse.LIFCell(norse.LIFParameters(v_leak=torch.as_tensor(0.1))), "v_leak must be 0"),
    "per-neuron": (
        lambda: norse.LIFCell(norse.LIFParameters(tau_mem_inv=torch.linspace(50, 100, 16))),
        "differs per neuron",
    ),
    "overshoot": (lambda: norse.LIFCell(norse.LIFParameters(tau_mem_inv=torch.as_tensor(2000.0))), "overshoots"),
    "bias-into-current": (lambda: norse.LIFCell(), "decays the layer bias"),
    "recurrent": (lambda: norse.LIFRecurrentCell(16, 16), "is not supported"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_norse_does_differently_is_refused_by_name(name):
    make, reason = REFUSED[name]
    net = nn.Sequential(nn.Linear(N_IN, 16), make())
    with pytest.raises(UnsupportedLayerError, match=f"layer '1': .*{reason}"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph_from_module(net, {"input_shape": [N_IN], "timesteps": T})


def test_norse_nir_of_lif_cells_is_refused_with_the_reason():
    """Norse 1.1 writes ``tau = dt / tau_inv`` (dt·tau, e.g. 1e-5 s): ``dt/tau`` then exceeds 1 for Norse's own dt,
    once a silent ``voltage_decay`` range error; the reader says why and points to the live module."""
    from norse.torch.utils.export_nir import to_nir

    from latdeploy.frontend.nir import graph_from_nir

    written = to_nir(norse.SequentialState(*NETWORKS["lif"][0]()), torch.zeros(1, N_IN))
    with pytest.raises(UnsupportedLayerError, match="Norse 1.1's to_nir writes tau as dt\\*tau .*live Norse module"):
        graph_from_nir(written, dt=1e-3)
