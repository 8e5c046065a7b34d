"""Sinabs ``IAF``/``LIF``/``SumPool2d`` against Sinabs itself: briefly trained networks, latdeploy's float run
reproduces Sinabs' own forward spike for spike on every layer (graded counts included), the quantized graph
runs the same in the fixed-point simulator and in real Lava, and what cannot be reproduced is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.profile import load_profile
from latdeploy.ir import LIF, MultiThresholdLIF, SoftResetLIF
from latdeploy.passes.quantize import quantize
from latdeploy.sim.float_sim import simulate_float
from tests.frontend.frameworks.lava_parity import assert_lava_equals_fixed
from tests.frontend.frameworks.optional import framework
from tests.frontend.frameworks.training import train_towards_random_rates

sinabs = framework("sinabs")
sl = framework("sinabs.layers")
sa = framework("sinabs.activation")

T, N_IN, SAMPLES = 16, 20, 32


def _spikes(seed: int, shape: tuple[int, ...] = (N_IN,), samples: int = SAMPLES) -> np.ndarray:
    return (np.random.default_rng(seed).random((samples, T, *shape)) < 0.3).astype(np.uint8)


def _sinabs_run(net: nn.Sequential, spikes: np.ndarray) -> list[torch.Tensor]:
    """Run ``net`` on ``[B, T, ...]`` from reset state; return each Sinabs neuron layer's output ``[B, T, ...]``."""
    sinabs.reset_states(net)
    batch = spikes.shape[0]
    value = torch.from_numpy(spikes.astype(np.float32))
    squeezed = any(isinstance(layer, sl.SqueezeMixin) for layer in net)
    if squeezed:
        value = value.reshape(batch * T, *spikes.shape[2:])
    recorded = []
    for layer in net:
        value = layer(value)
        if isinstance(layer, sl.StatefulLayer):
            recorded.append(value.reshape(batch, T, -1) if squeezed else value.reshape(batch, T, -1))
    return recorded


def _train(net: nn.Sequential, seed: int, shape: tuple[int, ...] = (N_IN,), steps: int = 6) -> None:
    """A few Adam steps towards random output rates, so that the weights are not trivial."""
    train_towards_random_rates(net, _sinabs_run, _spikes(seed + 1, shape), seed, steps)


def _mlp(make_neuron, bias: bool = False) -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(N_IN, 16, bias=bias), make_neuron(), nn.Linear(16, 5, bias=bias), make_neuron())
    with torch.no_grad():
        for layer in (net[0], net[2]):
            layer.weight.mul_(3.0)
    return net


def _conv(make_neuron) -> nn.Sequential:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, bias=False),
        make_neuron(),
        sl.SumPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 5, bias=False),
        make_neuron(),
    )
    with torch.no_grad():
        net[0].weight.mul_(3.0)
    return net


CONV_SHAPE = (2, 8, 8)

NETWORKS = {
    "iaf-single-subtract": (lambda: _mlp(lambda: sl.IAF(spike_fn=sa.SingleSpike)), SoftResetLIF, (N_IN,)),
    "iaf-single-reset": (
        lambda: _mlp(lambda: sl.IAF(spike_fn=sa.SingleSpike, reset_fn=sa.MembraneReset())),
        LIF,
        (N_IN,),
    ),
    "lif-maxspike-subtract": (
        lambda: _mlp(lambda: sl.LIF(tau_mem=8.0, norm_input=False, spike_fn=sa.MaxSpike(3))),
        MultiThresholdLIF,
        (N_IN,),
    ),
    "lif-train-alphas-reset": (
        lambda: _mlp(
            lambda: sl.LIF(
                tau_mem=6.0, norm_input=False, train_alphas=True, spike_fn=sa.SingleSpike, reset_fn=sa.MembraneReset()
            )
        ),
        LIF,
        (N_IN,),
    ),
    "conv-iafsqueeze-sumpool": (
        lambda: _conv(lambda: sl.IAFSqueeze(batch_size=SAMPLES, spike_fn=sa.SingleSpike)),
        SoftResetLIF,
        CONV_SHAPE,
    ),
}


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_latdeploy_float_reproduces_sinabs_spikes_on_every_layer(name):
    make, node_type, shape = NETWORKS[name]
    net = make()
    _train(net, seed=1, shape=shape)
    spikes = _spikes(2, shape)
    expected = _sinabs_run(net, spikes)
    graph = graph_from_module(net, {"input_shape": list(shape), "timesteps": T})
    neurons = graph.neurons()
    assert len(neurons) == 2 and all(type(neuron) is node_type for neuron in neurons)
    trace = simulate_float(graph, spikes)
    for neuron, theirs in zip(neurons, expected, strict=True):
        ours = trace.layers[neuron.name].spikes
        theirs = theirs.detach().numpy()
        assert 0 < np.count_nonzero(theirs) < theirs.size  # the layer spikes, not everywhere
        assert int((ours != theirs).sum()) == 0, f"{name}: {neuron.name} differs from Sinabs"
    if node_type is MultiThresholdLIF:
        assert max(int(expected[i].max()) for i in range(2)) > 1  # graded counts were exercised


def test_quantized_sinabs_network_runs_the_same_in_lava():
    pytest.importorskip("lava.magma.core.run_configs")

    make, _, shape = NETWORKS["lif-maxspike-subtract"]
    net = make()
    _train(net, seed=3, shape=shape)
    graph = graph_from_module(net, {"input_shape": list(shape), "timesteps": T})
    int_graph, _ = quantize(graph, load_profile("loihi2"), _spikes(4, shape))
    assert_lava_equals_fixed(int_graph, _spikes(5, shape, samples=4))


REFUSED = {
    "multispike": (lambda: sl.IAF(), "MultiSpike"),
    "tau-syn": (lambda: sl.LIF(tau_mem=8.0, tau_syn=4.0, norm_input=False), "tau_syn"),
    "norm-input": (lambda: sl.LIF(tau_mem=8.0, spike_fn=sa.SingleSpike), "norm_input=True"),
    "min-v-mem": (lambda: sl.IAF(spike_fn=sa.SingleSpike, min_v_mem=-1.0), "min_v_mem"),
    "reset-value": (lambda: sl.IAF(spike_fn=sa.SingleSpike, reset_fn=sa.MembraneReset(0.5)), "reset_value=0.5"),
    "subtract-value": (lambda: sl.IAF(spike_fn=sa.SingleSpike, reset_fn=sa.MembraneSubtract(0.5)), "subtract_value"),
    "maxspike-threshold": (lambda: sl.IAF(spike_threshold=0.7, spike_fn=sa.MaxSpike(2)), "power-of-two"),
    "maxspike-unbounded": (lambda: sl.IAF(spike_fn=sa.MaxSpike()), "max_num_spikes_per_bin=None"),
    "per-neuron-tau": (
        lambda: sl.LIF(tau_mem=torch.linspace(4, 8, 16), norm_input=False, spike_fn=sa.SingleSpike),
        "differs per neuron",
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_sinabs_does_differently_is_refused_by_name(name):
    make, reason = REFUSED[name]
    net = nn.Sequential(nn.Linear(N_IN, 16), make())
    with pytest.raises(UnsupportedLayerError, match=f"layer '1': Sinabs .*{reason}"):
        graph_from_module(net, {"input_shape": [N_IN], "timesteps": T})


def test_a_sinabs_sum_pool_whose_window_sums_sinabs_rounds_is_refused():
    """Sinabs' ``SumPool2d`` averages, then multiplies by the window size: for a 5x5 window some integer sums
    come back rounded (570 of 0..6375 here), for 3x3 none do; latdeploy asks Sinabs' own module."""

    def net(kernel: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(2, 4, 3, bias=False), sl.IAF(spike_fn=sa.SingleSpike), sl.SumPool2d(kernel),
            nn.Flatten(), nn.Linear(4, 3, bias=False), sl.IAF(spike_fn=sa.SingleSpike),
        )  # fmt: skip

    with pytest.raises(UnsupportedLayerError, match="layer '2': Sinabs SumPool2d .*rounds some window sums"):
        graph_from_module(net(5), {"input_shape": [2, 7, 7], "timesteps": T})
    assert len(graph_from_module(net(3), {"input_shape": [2, 5, 5], "timesteps": T}).neurons()) == 2


def _nir_net() -> nn.Sequential:
    """Sinabs IAFs whose NIR ``IF`` (fires on ``v > thr``, resets to 0) is what they do, but for ``v == thr``."""

    def neuron():
        return sl.IAFSqueeze(num_timesteps=T, spike_fn=sa.SingleSpike, reset_fn=sa.MembraneReset())

    return _mlp(neuron)


def test_sinabs_nir_without_dt_is_refused_and_with_dt_1_reproduces_sinabs(tmp_path, capsys, monkeypatch):
    import sys

    nir = framework("nir")
    from sinabs.nir import to_nir

    from latdeploy.cli import main
    from latdeploy.errors import EXIT_USER_ERROR, ModelFormatError
    from latdeploy.frontend.nir import ResetAssumedWarning, graph_from_nir, read_nir

    net = _nir_net()
    _train(net, seed=8)
    written = to_nir(net, torch.zeros(T, N_IN))
    assert "dt" not in written.metadata  # Sinabs writes no time step
    with pytest.raises(ModelFormatError, match="states no time step .*--dt"):
        graph_from_nir(written)
    with pytest.warns(ResetAssumedWarning, match="Sinabs writes this IF for every IAF"):
        graph = graph_from_nir(written, dt=1.0)
    spikes = _spikes(9)
    trace = simulate_float(graph, spikes)
    sinabs.reset_states(net)
    value, expected = torch.from_numpy(spikes.astype(np.float32)).reshape(SAMPLES * T, N_IN), []
    for layer in net:
        value = layer(value)
        if isinstance(layer, sl.StatefulLayer):
            expected.append(value.reshape(SAMPLES, T, -1).detach().numpy())
    for neuron, theirs in zip(graph.neurons(), expected, strict=True):
        assert theirs.any() and int((trace.layers[neuron.name].spikes != theirs).sum()) == 0, neuron.name

    path = tmp_path / "sinabs.nir"
    nir.write(str(path), written)
    with pytest.warns(ResetAssumedWarning):
        assert len(read_nir(path, dt=1.0).neurons()) == 2
    np.save(tmp_path / "in.npy", spikes[0].T.copy())  # (neurons, steps)

    def cli(*args: object) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["latdeploy", *map(str, args)])
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code
        return code, capsys.readouterr().err

    code, err = cli("run", path, "--input", tmp_path / "in.npy", "--backend", "float")
    assert code == EXIT_USER_ERROR and "--dt" in err and len(err.strip().splitlines()) == 1
    code, err = cli(
        "run", path, "--input", tmp_path / "in.npy", "--backend", "float", "--dt", "1", "-o", tmp_path / "o.npy"
    )
    assert code == 0, err
    assert np.array_equal(np.load(tmp_path / "o.npy"), expected[-1][0].T)
