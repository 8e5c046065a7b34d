"""lava-dl slayer ``block.cuba.*`` live networks against slayer itself: briefly trained Dense and Conv networks,
latdeploy's integer graph (slayer's own export, read as netx reads it) reproduces slayer's CPU forward spike for
spike on every layer (each layer shifted by its ``delay_shift`` lag) while no state overflows, the same graph
runs with 0 mismatches in real Lava, an overflow that makes them differ is counted, and what cannot be reproduced
is refused by name."""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pytest
import torch
from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.ir import Graph, LIFInt
from latdeploy.sim.fixed import simulate_fixed
from tests.frontend.frameworks.optional import framework
from tests.frontend.frameworks.training import train_towards_random_rates

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    slayer = framework("lava.lib.dl.slayer")
from latdeploy.frontend.frameworks.slayer import graph_from_slayer, slayer_lags, write_net  # noqa: E402

cuba = slayer.block.cuba
T, SAMPLES = 20, 16
PARAMS = {"threshold": 1.25, "current_decay": 0.25, "voltage_decay": 0.03}


def _spikes(seed: int, shape: tuple[int, ...], samples: int = SAMPLES, rate: float = 0.3) -> np.ndarray:
    """``[B, T, *shape]`` 0/1 spikes."""
    return (np.random.default_rng(seed).random((samples, T, *shape)) < rate).astype(np.uint8)


def _slayer_run(net: nn.Sequential, spikes: np.ndarray) -> list[torch.Tensor]:
    """Run the blocks on slayer's ``[B, *shape, T]``; return each neuron block's spikes ``[B, T, N]``."""
    value = torch.from_numpy(spikes.astype(np.float32)).movedim(1, -1)
    recorded = []
    for block in net:
        value = block(value)
        if not isinstance(block, cuba.Flatten):
            recorded.append(value.movedim(-1, 1).reshape(spikes.shape[0], spikes.shape[1], -1))
    return recorded


def _dense(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(cuba.Dense(PARAMS, 20, 24, weight_scale=3), cuba.Dense(PARAMS, 24, 5, weight_scale=3))


def _conv(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        cuba.Conv(PARAMS, 2, 4, 3, padding=1, weight_scale=2),
        cuba.Conv(PARAMS, 4, 4, 3, stride=2, padding=1, weight_scale=2),
        cuba.Flatten(),
        cuba.Dense(PARAMS, 4 * 3 * 5, 5, weight_scale=3),
    )


NETWORKS = {"dense": (_dense, (20,)), "conv": (_conv, (2, 6, 10))}


def _trained(name: str, seed: int) -> tuple[nn.Sequential, tuple[int, ...]]:
    make, shape = NETWORKS[name]
    net = make(seed)
    train_towards_random_rates(net, _slayer_run, _spikes(seed + 1, shape), seed, steps=4)
    return net.eval(), shape


def _compare(graph, net: nn.Sequential, spikes: np.ndarray) -> tuple[list[int], dict]:
    """Return the mismatches of each layer (latdeploy's fixed point vs slayer, shifted by the lags) and the
    fixed-point trace's overflow counts."""
    with torch.no_grad():
        theirs = [layer.numpy().astype(np.uint8) for layer in _slayer_run(net, spikes)]
    trace = simulate_fixed(graph, spikes.reshape(spikes.shape[0], spikes.shape[1], -1))
    mismatches = []
    for neuron, layer, lag in zip(graph.neurons(), theirs, graph.metadata["slayer_lags"], strict=True):
        ours = trace.layers[neuron.name].spikes
        assert 0.02 * layer.size < layer.sum() < layer.size  # slayer's layer spikes often, not everywhere
        mismatches.append(int((ours[:, : T - lag] != layer[:, lag:]).sum()))
    return mismatches, trace.overflow


@pytest.mark.parametrize("seed", [0, 7, 13])
@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_latdeploy_reproduces_slayers_forward_on_every_layer(name, seed):
    net, shape = _trained(name, seed)
    graph = graph_from_slayer(net, shape, T)
    assert all(type(neuron) is LIFInt for neuron in graph.neurons())
    assert graph.metadata["slayer_lags"] == slayer_lags(net) == list(range(1, len(graph.neurons()) + 1))
    mismatches, overflow = _compare(graph, net, _spikes(seed + 2, shape))
    assert all(not any(counts.values()) for counts in overflow.values()), overflow
    assert mismatches == [0] * len(mismatches)


def test_an_overflow_where_slayer_and_loihi_differ_is_counted_not_silent():
    """slayer holds u and v in int64; Loihi wraps u at 24 bits and saturates v. Big weights on many inputs
    overflow: the spikes then differ from slayer's, and the fixed-point trace counts the overflows."""
    params = {"threshold": 60.0, "current_decay": 0.0, "voltage_decay": 0.0}
    torch.manual_seed(0)
    net = nn.Sequential(cuba.Dense(params, 400, 10, weight_scale=2000), cuba.Dense(params, 10, 4, weight_scale=200))
    graph = graph_from_slayer(net, (400,), T)
    spikes = _spikes(1, (400,), samples=8, rate=0.9)
    with torch.no_grad():
        theirs = _slayer_run(net, spikes)[0].numpy().astype(np.uint8)
    trace = simulate_fixed(graph, spikes)
    first = graph.neurons()[0].name
    assert int((trace.layers[first].spikes[:, : T - 1] != theirs[:, 1:]).sum()) > 0
    assert trace.overflow[first]["u_wraps"] > 0


@pytest.mark.parametrize("name", ["dense", pytest.param("conv", marks=pytest.mark.slow)])  # conv: ~25 s in Lava
def test_the_slayer_graph_runs_the_same_in_lava(name):
    pytest.importorskip("lava.magma.core.run_configs")
    from latdeploy.backends.lava import run_lava

    net, shape = _trained(name, 3)
    graph = graph_from_slayer(net, shape, T)
    spikes = _spikes(4, shape, samples=3)
    flat = spikes.reshape(spikes.shape[0], T, -1)
    fixed = simulate_fixed(graph, flat)
    lava = run_lava(graph, flat, timeout=300)
    for neuron in graph.neurons():
        assert fixed.layers[neuron.name].spikes.any()
        assert int((lava.trace.layers[neuron.name].spikes != fixed.layers[neuron.name].spikes).sum()) == 0


def test_write_net_gives_a_file_latdeploy_reads_like_any_net(tmp_path):
    from latdeploy.frontend.netx import read_netx

    net, shape = _trained("conv", 5)
    path = write_net(net, tmp_path / "conv.net", shape)
    read = read_netx(path, timesteps=T)
    graph = Graph(read.nodes, {**read.metadata, "slayer_lags": slayer_lags(net)})
    mismatches, _ = _compare(graph, net, _spikes(6, shape))
    assert mismatches == [0] * len(mismatches)


REFUSED = {
    "input": (lambda: [cuba.Input(PARAMS), cuba.Dense(PARAMS, 20, 5)], "Input.*multiplies the input"),
    "pool": (lambda: [cuba.Dense(PARAMS, 20, 20), cuba.Pool(PARAMS, 2)], "Pool.*builds no pool"),
    "threshold-64": (lambda: [cuba.Dense({**PARAMS, "threshold": 64.0}, 20, 5)], "float32 rounds threshold"),
    "graded": (lambda: [cuba.Dense({**PARAMS, "graded_spike": True}, 20, 5)], "graded_spike=True"),
    "persistent": (lambda: [cuba.Dense({**PARAMS, "persistent_state": True}, 20, 5)], "persistent_state=True"),
    "delay": (lambda: [cuba.Dense(PARAMS, 20, 5, delay=True)], "axonal delay"),
    "affine": (lambda: [cuba.Affine(PARAMS, 20, 5)], "Affine.*not supported; supported"),
    "flatten-first": (lambda: [cuba.Flatten(), cuba.Dense(PARAMS, 20, 5)], "first block must be"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_latdeploy_cannot_reproduce_is_refused_by_name(name):
    make, reason = REFUSED[name]
    with pytest.raises(UnsupportedLayerError, match=f"slayer block .*{reason}"):
        graph_from_slayer(nn.Sequential(*make()), (20,), T)


def test_a_slayer_block_in_a_float_model_points_at_the_slayer_path():
    from latdeploy.frontend.torch_module import graph_from_module

    with pytest.raises(UnsupportedLayerError, match="layer '0': slayer Dense blocks .*graph_from_slayer"):
        graph_from_module(_dense(0), {"input_shape": [20], "timesteps": T})


@pytest.mark.parametrize(("threshold", "same"), [(32.0, True), (64.0, False)])
def test_the_refused_threshold_corner_is_real_in_slayer(tmp_path, threshold, same):
    """Why thresholds of 64 and above are refused: one input of weight 2 brings ``v`` to exactly ``vThMant << 6``
    at threshold 64; slayer's float32 spike test fires there, Loihi's (and slayer's own reset) does not. Written
    by slayer's export directly (``write_net`` refuses it)."""
    from latdeploy.frontend.netx import read_netx

    block = cuba.Dense({"threshold": threshold, "current_decay": 1.0, "voltage_decay": 0.0}, 1, 1)
    with torch.no_grad():
        block.synapse.weight.fill_(2.0)
        theirs = block(torch.ones(1, 1, 40))[0, 0].numpy()
    with h5py.File(tmp_path / "corner.net", "w") as handle:
        layers = handle.create_group("layer")
        first = layers.create_group("0")
        first.create_dataset("type", (1,), "S10", [b"input"])
        first.create_dataset("shape", data=np.array([1]))
        block.export_hdf5(layers.create_group("1"))
    graph = read_netx(tmp_path / "corner.net", timesteps=40)
    ours = simulate_fixed(graph, np.ones((1, 40, 1), np.uint8)).layers[graph.neurons()[0].name].spikes[0, :, 0]
    assert theirs.any() and ours.any()
    assert np.array_equal(ours[:-1], theirs[1:]) == same
