"""Issue 14: integer files (a lava-dl ``.net``, latdeploy's ``graph.int.onnx``) through export, verify and
energy with ``--data``: no quantization, the parity is the fixed-point simulator against real Lava on every
layer, and every float value is "n/a (integer file)" (null with a reason in ``parity.json``, not
applicable in the gates and the verdict, a note in the HTML report); sweep and finetune refuse them."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from latdeploy.cli import cli
from latdeploy.data.registry import load_split
from latdeploy.flows.prepare import encode
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.profile import load_profile
from latdeploy.ir.onnx_io import read_onnx, write_onnx
from latdeploy.nn.checkpoint import load
from latdeploy.passes.quantize import quantize
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.verify.parity import NO_FLOAT_REASON
from tests.conftest import SHIPPED_MODEL
from tests.flows.test_graph_files import exit_and_stderr
from tests.frontend.test_netx import NETX_TESTS
from tests.frontend.test_netx_tutorial_files import STEPS, _tutorial_net

pytest.importorskip("lava.magma.core.run_configs")

TARGET = "loihi2-sim"


def invoke(*args: object):
    """Run a command in this process (errors come back as ``result.exception``)."""
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def _export(model, data, out, *more: object) -> dict:
    result = invoke("export", model, "--data", data, "--target", TARGET, "-o", out, *more)
    assert result.exit_code == 0, result.output
    return {"output": result.output, "parity": json.loads((out / "parity.json").read_text())}


def _assert_integer_parity(parity: dict) -> None:
    """0 fixed-vs-Lava mismatches on every layer, and every float value null with the reason."""
    assert parity["fixed_vs_hardware"]["mismatches"] == 0 and parity["fixed_vs_hardware"]["compared"] > 0
    assert all(layer["mismatches_fixed_vs_hardware"] == 0 for layer in parity["layers"])
    assert any(layer["spikes_fixed"] > 0 for layer in parity["layers"])
    assert parity["float_run"] == {"available": False, "reason": NO_FLOAT_REASON}
    assert parity["float_vs_fixed"] == {"compared": None, "mismatches": None, "first_divergence": None}
    assert parity["accuracy"]["float"] is None and parity["decision_agreement"]["float_vs_fixed"] is None
    assert all(layer["spikes_float"] is None for layer in parity["layers"])
    assert "float" not in parity["decision_latency"]
    gates = parity["gates"]
    assert [check["passed"] for check in gates["checks"]] == [None, None] and gates["passed"] is True
    assert all(check["reason"] for check in gates["checks"])


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory):
    """A slayer-tutorial-style ``.net`` (no input block, no ``tSample``) and encoded spikes without labels."""
    root = tmp_path_factory.mktemp("tutorial")
    spikes = (np.random.default_rng(5).random((6, STEPS, 5)) < 0.5).astype(np.uint8)
    np.savez(root / "spikes.npz", x=spikes)
    return _tutorial_net(root / "tutorial.net"), root / "spikes.npz"


def test_a_tutorial_net_file_exports_verifies_and_prices_with_its_float_column_not_applicable(tutorial, tmp_path):
    net, data = tutorial
    out = tmp_path / "tutorial.latdeploy"
    exported = _export(net, data, out, "--samples", "4")
    _assert_integer_parity(exported["parity"])
    assert exported["parity"]["labels"]["available"] is False and exported["parity"]["accuracy"]["fixed"] is None
    output = exported["output"]
    assert f"float vs fixed: {NO_FLOAT_REASON}" in output
    assert "verdict     PASSED" in output and "accuracy drop not applicable" in output and "[N/A]" in output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"]["file"] == "model.net" and manifest["model"]["format"] == "netx"
    assert "graph.onnx" not in manifest["files"] and not (out / "graph.onnx").exists()
    html = (out / "report.html").read_text()
    assert 'id="no-float"' in html and "NOT APPLICABLE" in html and "Spike rasters" not in html
    energy = json.loads((out / "energy.json").read_text())
    assert energy["ann_equivalent"]["macs"] == 6 * 5 + 3 * 6  # the two dense layers' weights
    assert "integer graph" in energy["ann_equivalent"]["convention"]

    again = invoke("verify", out, "--hardware-samples", "2")  # finds model.net and the recorded data
    assert again.exit_code == 0, again.output
    assert "no float model: integer file" in again.output and "verdict     PASSED" in again.output

    priced = invoke("energy", net, "--data", data, "--json")
    assert priced.exit_code == 0, priced.output
    counts = json.loads(priced.output)["counts"]
    assert counts["ann_graph"] == "integer" and sum(layer["sops"] for layer in counts["per_layer"]) > 0


@pytest.mark.skipif(not (NETX_TESTS / "tiny.net").is_file(), reason="lava-dl's netx test networks are not installed")
def test_lava_dls_own_tiny_net_exports_with_zero_mismatches_and_counts_its_input_layer(tmp_path):
    """lava-dl's tiny.net: an input layer with neurons (driven one to one), two strided conv layers."""
    spikes = (np.random.default_rng(0).random((2, 16, 3 * 16 * 16)) < 0.3).astype(np.uint8)
    np.savez(tmp_path / "spikes.npz", x=spikes)
    out = tmp_path / "tiny.latdeploy"
    _assert_integer_parity(_export(NETX_TESTS / "tiny.net", tmp_path / "spikes.npz", out, "--samples", "2")["parity"])
    energy = json.loads((out / "energy.json").read_text())
    first = energy["per_layer"][0]
    assert first["synapse"] == "identity" and first["macs_ann"] == 0
    assert first["sops"] == first["input_events"] == spikes.sum() / len(spikes)


def test_graph_int_onnx_exports_with_labels_and_its_fixed_accuracy(tmp_path):
    model, metadata = load(SHIPPED_MODEL)
    test = load_split(metadata["dataset"], "test")
    spikes = encode(model, test.x[:12])
    int_graph, _ = quantize(graph_from_module(model, metadata), load_profile("loihi2"), spikes)
    write_onnx(int_graph, tmp_path / "graph.int.onnx")
    np.savez(tmp_path / "encoded.npz", x=spikes, y=test.y[:12])
    out = tmp_path / "int.latdeploy"
    exported = _export(tmp_path / "graph.int.onnx", tmp_path / "encoded.npz", out, "--samples", "12")
    parity = exported["parity"]
    _assert_integer_parity(parity)
    assert parity["accuracy"]["fixed"] is not None and parity["accuracy"]["hardware"] == parity["accuracy"]["fixed"]
    assert read_onnx(out / "graph.int.onnx").metadata["timesteps"] == int_graph.timesteps


@pytest.mark.parametrize("command", ["sweep", "finetune"])
def test_sweep_and_finetune_refuse_an_integer_file_with_the_reason(tutorial, tmp_path, monkeypatch, capsys, command):
    net, data = tutorial
    code, stderr = exit_and_stderr(monkeypatch, capsys, command, net, "--data", data, "-o", tmp_path / "out")
    assert code == 2 and stderr.count("\n") == 1, stderr
    assert f"holds an integer graph (already quantized), with no float model for {command}" in stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # trains a slayer network and runs it in Lava (~30 s)
def test_a_live_slayer_net_written_with_write_net_exports_with_zero_mismatches_and_slayers_spikes(tmp_path):
    from tests.frontend.frameworks.optional import framework

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        framework("lava.lib.dl.slayer")
    from latdeploy.frontend.frameworks.slayer import write_net
    from tests.frontend.frameworks import test_slayer

    net, shape = test_slayer._trained("dense", 11)
    spikes = test_slayer._spikes(12, shape, samples=6)
    path = write_net(net, tmp_path / "trained.net", shape)
    np.savez(tmp_path / "spikes.npz", x=spikes)
    out = tmp_path / "slayer.latdeploy"
    _assert_integer_parity(_export(path, tmp_path / "spikes.npz", out, "--samples", "6")["parity"])

    graph = read_onnx(out / "graph.int.onnx")  # the bundle's graph runs as slayer's own forward (with its lags)
    trace = simulate_fixed(graph, spikes.reshape(len(spikes), spikes.shape[1], -1))
    import torch

    with torch.no_grad():
        theirs = [layer.numpy().astype(np.uint8) for layer in test_slayer._slayer_run(net, spikes)]
    for lag, (neuron, layer) in enumerate(zip(graph.neurons(), theirs, strict=True), start=1):
        ours = trace.layers[neuron.name].spikes
        assert layer.any() and np.array_equal(ours[:, : test_slayer.T - lag], layer[:, lag:]), neuron.name
