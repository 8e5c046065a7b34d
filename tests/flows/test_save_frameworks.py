"""Issue 14: ``latdeploy.save(model, path, input_shape=..., timesteps=..., encoder=...)`` for any network the
frontend converts. A briefly trained snnTorch network is saved as its float graph (``.onnx``, read back
without unpickling code): the file's float spikes equal the live module's on every layer, and
``latdeploy export FILE --data`` on the user's ``.npz`` runs it in real Lava with 0 fixed-vs-Lava mismatches."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

import latdeploy
from latdeploy.cli import cli
from latdeploy.errors import ModelFormatError
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.ir.onnx_io import read_onnx
from latdeploy.nn import LIF, LatencyEncoder
from latdeploy.sim.float_sim import simulate_float
from tests.frontend.frameworks.optional import framework
from tests.frontend.frameworks.training import train_towards_random_rates

T, N_IN, CLASSES = 12, 20, 5


def _snntorch_net() -> nn.Sequential:
    snn = framework("snntorch")
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(N_IN, 16, bias=False),
        snn.Leaky(beta=0.85, threshold=0.8, init_hidden=True, learn_beta=True, learn_threshold=True),
        nn.Linear(16, CLASSES, bias=False),
        snn.Leaky(beta=0.9, init_hidden=True),
    )
    with torch.no_grad():
        for layer in (net[0], net[2]):
            layer.weight.mul_(3.0)
    return net


def _snntorch_run(net: nn.Sequential, spikes: np.ndarray) -> list[torch.Tensor]:
    """Run ``net`` in snnTorch step by step from reset state; each neuron layer's spikes ``[B, T, N]``."""
    from tests.frontend.frameworks.test_snntorch import _snntorch_run as run  # imports snnTorch (or skips)

    return run(net, spikes)


def test_a_saved_snntorch_network_exports_from_its_file_exactly(tmp_path):
    pytest.importorskip("lava.magma.core.run_configs")
    rng = np.random.default_rng(0)
    net = _snntorch_net()
    train_towards_random_rates(net, _snntorch_run, (rng.random((16, T, N_IN)) < 0.3).astype(np.uint8), 1, 8)
    path = latdeploy.save(net, tmp_path / "net.onnx", input_shape=[N_IN], timesteps=T, encoder="latency")

    x = rng.random((24, N_IN)).astype(np.float32)  # the user's analog data; the file's latency encoder encodes it
    spikes = LatencyEncoder(T)(torch.from_numpy(x)).transpose(0, 1).numpy().astype(np.uint8)
    graph = read_onnx(path)
    assert graph.metadata["encoder_config"] == {"encoder": "latency"} and graph.metadata["classes"] == CLASSES
    trace = simulate_float(graph, spikes)
    with torch.no_grad():
        expected = _snntorch_run(net, spikes)
    for neuron, theirs in zip(graph.neurons(), expected, strict=True):
        theirs = theirs.numpy().astype(np.uint8)
        assert theirs.any(), neuron.name
        assert int((trace.layers[neuron.name].spikes != theirs).sum()) == 0, neuron.name

    data = tmp_path / "user.npz"
    np.savez(data, x=x, y=rng.integers(0, CLASSES, len(x)))
    out = tmp_path / "net.latdeploy"
    result = CliRunner().invoke(cli, ["export", str(path), "--data", str(data), "--samples", "8", "-o", str(out)])
    assert result.exit_code in (0, 4), result.output  # 4: a gate judged the untrained task, not parity
    parity = json.loads((out / "parity.json").read_text())
    assert parity["fixed_vs_hardware"]["mismatches"] == 0
    assert parity["fixed_vs_hardware"]["compared"] > 0


def test_a_plain_sequential_of_torch_layers_saves_as_its_float_graph(tmp_path):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 6), LIF(6, threshold=0.5), nn.Linear(6, 3), LIF(3))  # biases: no checkpoint
    with pytest.raises(ModelFormatError, match=r"^0: Linear has a bias.*; or give a path ending in \.onnx"):
        latdeploy.save(net, tmp_path / "net.pt", input_shape=[8], timesteps=4)
    assert not (tmp_path / "net.pt").exists()
    path = latdeploy.save(net, tmp_path / "net.onnx", input_shape=[8], timesteps=4, encoder=None, classes=3)
    graph = read_onnx(path)
    assert graph.metadata["encoder"] == "none" and "encoder_config" not in graph.metadata
    spikes = (np.random.default_rng(1).random((5, 4, 8)) < 0.5).astype(np.uint8)
    live = simulate_float(graph_from_module(net, {"input_shape": [8], "timesteps": 4}), spikes)
    saved = simulate_float(graph, spikes)
    assert live.output().spikes.any()
    for name, layer in live.layers.items():
        assert np.array_equal(saved.layers[name].spikes, layer.spikes), name


def test_save_refuses_an_encoder_a_graph_cannot_carry(tmp_path):
    net = nn.Sequential(nn.Linear(8, 3), LIF(3))
    with pytest.raises(ModelFormatError, match="encoder 'stc' cannot be saved with a graph"):
        latdeploy.save(net, tmp_path / "net.onnx", input_shape=[8], timesteps=4, encoder="stc")
    with pytest.raises(ModelFormatError, match="needs timesteps"):
        latdeploy.save(net, tmp_path / "net.onnx", input_shape=[8])


def test_the_api_exports_a_live_plain_sequential_through_its_saved_graph(tmp_path):
    pytest.importorskip("lava.magma.core.run_configs")
    torch.manual_seed(2)
    net = nn.Sequential(nn.Linear(8, 6), LIF(6, threshold=0.5), nn.Linear(6, 3), LIF(3, threshold=0.5))
    with torch.no_grad():
        net[0].weight.mul_(2.0)
    rng = np.random.default_rng(3)
    data = tmp_path / "spikes.npz"
    np.savez(data, x=(rng.random((12, 5, 8)) < 0.4).astype(np.uint8), y=rng.integers(0, 3, 12))
    result = latdeploy.export(
        net, data=data, out=tmp_path / "seq.latdeploy", samples=6, input_shape=[8], timesteps=5, encoder=None
    )
    assert (tmp_path / "seq.onnx").is_file()  # the live network's float graph, beside the bundle
    assert result.parity["fixed_vs_hardware"]["mismatches"] == 0 and result.parity_ok
    assert result.data["test"]["inputs"] == "encoded"
