"""``latdeploy run``: every backend on the same spikes, ring-buffer layouts, JSON, errors."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from latdeploy.cli import main
from latdeploy.errors import EXIT_USER_ERROR
from latdeploy.ir.onnx_io import write_onnx
from latdeploy.sim.fixed import simulate_fixed
from tests.conftest import int_graph

NTIDIGITS = (
    Path(__file__).resolve().parents[2] / ".venv/lib/python3.10/site-packages/tests/lava/lib/dl/netx/gts/ntidigits"
)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def latdeploy_cli(capsys, monkeypatch):
    """Run the ``latdeploy`` entry point in this process (exit codes as the console script gives them)."""

    def invoke(*args) -> Result:
        monkeypatch.setattr(sys, "argv", ["latdeploy", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exit_:
            code = exit_.code
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def integer_onnx(tmp_path):
    rng = np.random.default_rng(11)
    graph = int_graph(rng, (6, 5, 4), timesteps=5, du=300, dv=100, vth=40)
    spikes = (rng.random((3, 6, 5)) < 0.5).astype(np.uint8)  # (samples, neurons, steps)
    np.save(tmp_path / "in.npy", spikes)
    return graph, write_onnx(graph, tmp_path / "g.onnx"), spikes


def test_fixed_and_lava_give_identical_outputs_in_ring_buffer_layout(latdeploy_cli, integer_onnx, tmp_path):
    graph, path, spikes = integer_onnx
    outputs = {}
    for backend in ("fixed", "lava"):
        result = latdeploy_cli(
            "run", path, "--input", tmp_path / "in.npy", "--backend", backend, "--json",
            "-o", tmp_path / f"{backend}.npy", "--all-layers", tmp_path / f"{backend}.npz",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert (summary["backend"], summary["samples"], summary["steps"]) == (backend, 3, 5)
        assert summary["sim_seconds"] > 0 and summary["output_layer"] == "lif2"
        outputs[backend] = np.load(tmp_path / f"{backend}.npy")
        layers = np.load(tmp_path / f"{backend}.npz")
        assert sorted(layers.files) == ["lif1", "lif2"] and np.array_equal(layers["lif2"], outputs[backend])
    expected = simulate_fixed(graph, spikes.transpose(0, 2, 1)).output().spikes.transpose(0, 2, 1)
    assert outputs["fixed"].shape == (3, 4, 5) and expected.sum() > 0
    assert np.array_equal(outputs["fixed"], expected) and np.array_equal(outputs["lava"], expected)


def test_one_sample_is_neurons_by_steps_and_float_runs_a_checkpoint(latdeploy_cli, shipped_model_path, tmp_path):
    spikes = np.zeros((64, 8), np.uint8)
    spikes[np.arange(64), np.arange(64) % 8] = 1
    np.save(tmp_path / "one.npy", spikes)
    result = latdeploy_cli("run", shipped_model_path, "--input", tmp_path / "one.npy", "--backend", "float", "-o",
                        tmp_path / "out.npy")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "float: 1 sample(s) x 8 steps" in result.stdout
    assert np.load(tmp_path / "out.npy").shape == (10, 8)


@pytest.mark.skipif(not NTIDIGITS.is_dir(), reason="lava-dl's netx test networks are not installed")
def test_netx_file_runs_in_fixed_point(latdeploy_cli, tmp_path):
    np.save(tmp_path / "in.npy", np.load(NTIDIGITS / "input.npy")[:, :300].astype(np.uint8))
    result = latdeploy_cli("run", NTIDIGITS / "ntidigits.net", "--input", tmp_path / "in.npy", "--json", "-o",
                        tmp_path / "out.npy")  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["format"] == "netx" and summary["output_neurons"] == 242 and summary["steps"] == 300
    recorded = np.load(NTIDIGITS / "output.npy")  # the recording runs 4 steps behind
    assert np.array_equal(np.load(tmp_path / "out.npy")[:, :296], recorded[:, 4:300])


@pytest.mark.skipif(not (NTIDIGITS.parent.parent / "mnist.net").is_file(), reason="lava-dl's netx networks absent")
def test_netx_mnist_with_input_currents_gives_netx_spikes(latdeploy_cli, tmp_path):
    """mnist.net's input layer is a neuron: the input values are its currents (0..255), as netx's ``a_in``."""
    from tests.frontend.test_netx import run_netx_layers

    mnist, steps = NTIDIGITS.parent.parent / "mnist.net", 6
    currents = np.random.default_rng(3).integers(0, 200, (784, steps)).astype(np.uint8)
    np.save(tmp_path / "in.npy", currents)
    result = latdeploy_cli("run", mnist, "--input", tmp_path / "in.npy", "--backend", "fixed", "--json",
                        "--all-layers", tmp_path / "layers.npz")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["output_layer"] == "layer3"
    ours = np.load(tmp_path / "layers.npz")
    lava, _ = run_netx_layers(mnist, currents.astype(np.int32))
    for lag, (name, theirs) in enumerate(zip(("layer0", "layer1", "layer2", "layer3"), lava, strict=True)):
        assert np.array_equal(ours[name][:, : steps - lag], theirs[:, lag:]), name
    assert ours["layer1"].sum() > 100
    result = latdeploy_cli("inspect", mnist)
    assert result.returncode == 0 and "du=-1, dv=4096, vth=131072" in result.stdout


def _delay_net(path: Path) -> Path:
    """A .net file: a biased CUBA layer feeding per-synapse delays, delays per output neuron before it."""
    from tests.frontend.test_netx import _write_net

    rng = np.random.default_rng(5)
    neuron = {"type": "CUBA", "iDecay": 1024, "vDecay": 128, "vThMant": 20, "refDelay": 1, "gradedSpike": False}
    layers = [
        {"type": "input", "shape": [6]},
        {"type": "dense", "shape": [5], "weight": rng.integers(-40, 60, (5, 6)) * 2.0,
         "delay": np.array([0.0, 1, 3, 2, 1]), "bias": rng.integers(-20, 30, 5) * 1.0, "neuron": neuron},
        {"type": "dense", "shape": [4], "weight": rng.integers(-40, 60, (4, 5)) * 2.0,
         "delay": rng.integers(0, 3, (4, 5)) * 1.0, "neuron": neuron},
        {"type": "dense", "shape": [3], "weight": rng.integers(10, 80, (3, 4)) * 2.0, "neuron": neuron},
    ]  # fmt: skip
    return _write_net(path, layers, t_sample=6)


@pytest.mark.parametrize("kind", ["netx", "axonal_delay"])
def test_delay_graphs_run_all_samples_in_one_lava_run(latdeploy_cli, tmp_path, kind):
    """Regression: delay graphs once ran one sample per Lava run; now 3 samples share one run, 0 mismatches."""
    from latdeploy.frontend.model_file import load_graph
    from tests.backends.lava.test_conv import _biased_delay_network

    if kind == "netx":
        path = _delay_net(tmp_path / "delays.net")
    else:
        path = write_onnx(_biased_delay_network(), tmp_path / "delays.onnx")
    graph = load_graph(path, integer=True)
    spikes = (np.random.default_rng(9).random((3, graph.input.size, graph.timesteps)) < 0.5).astype(np.uint8)
    np.save(tmp_path / "in.npy", spikes)
    layers, summaries = {}, {}
    for backend in ("fixed", "lava"):
        result = latdeploy_cli("run", path, "--input", tmp_path / "in.npy", "--backend", backend, "--json",
                            "--all-layers", tmp_path / f"{backend}.npz")  # fmt: skip
        assert result.returncode == 0, result.stderr
        summaries[backend], layers[backend] = json.loads(result.stdout), np.load(tmp_path / f"{backend}.npz")
    depth = max(graph.lag(node.name) for node in graph.neurons())
    assert graph.max_delay() > 0
    assert summaries["lava"]["hardware_steps"] == 3 * (graph.timesteps + graph.max_delay()) + depth  # one run
    assert sorted(layers["lava"].files) == sorted(layers["fixed"].files)
    for name in layers["fixed"].files:
        assert np.array_equal(layers["lava"][name], layers["fixed"][name]), name
    assert all(layers["fixed"][name].sum() > 0 for name in layers["fixed"].files)


def test_user_errors_exit_2_and_write_nothing(latdeploy_cli, integer_onnx, tmp_path):
    _, path, _ = integer_onnx
    np.save(tmp_path / "wrong.npy", np.zeros((3, 7, 5), np.uint8))
    result = latdeploy_cli("run", path, "--input", tmp_path / "wrong.npy", "-o", tmp_path / "o.npy")
    assert result.returncode == EXIT_USER_ERROR and "6 neurons" in result.stderr
    np.save(tmp_path / "graded.npy", np.full((6, 5), 2, np.uint8))
    result = latdeploy_cli("run", path, "--input", tmp_path / "graded.npy")
    assert result.returncode == EXIT_USER_ERROR and "values" in result.stderr and "spikes (0/1)" in result.stderr
    result = latdeploy_cli("run", path, "--input", tmp_path / "in.npy", "--backend", "float")
    assert result.returncode == EXIT_USER_ERROR and "integer graph" in result.stderr
    assert not (tmp_path / "o.npy").exists()
