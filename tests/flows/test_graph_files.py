"""Issue 14: float graphs become integer graphs wherever they come from. latdeploy's own ``graph.onnx``
(with its ``host.onnx`` encoder, or alone), ``.nir`` files and a float ``.onnx`` quantize for the profile
on the calibration data, so export, verify, energy and sweep run on them in real Lava; ``run`` quantizes
a float graph on the input it runs; what cannot work is a one-line exit-2 error."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from latdeploy.backends.host_onnx import host_onnx_bytes
from latdeploy.backends.nir import write_nir
from latdeploy.cli import cli, main
from latdeploy.data.registry import load_split
from latdeploy.flows.prepare import encode
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.profile import load_profile
from latdeploy.ir.onnx_io import read_onnx, write_onnx
from latdeploy.nn.checkpoint import load
from latdeploy.passes.quantize import quantize
from latdeploy.sim.fixed import simulate_fixed
from tests.conftest import SHIPPED_MODEL

pytest.importorskip("lava.magma.core.run_configs")

SAMPLES = 30


def invoke(*args: object):
    """Run a command in this process (errors come back as ``result.exception``)."""
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def exit_and_stderr(monkeypatch, capsys, *args: object) -> tuple[int, str]:
    """Run ``latdeploy`` as its console script does (``cli.main``): its exit status and what it printed to stderr."""
    monkeypatch.setattr(sys, "argv", ["latdeploy", *(str(arg) for arg in args)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return exit_info.value.code, capsys.readouterr().err


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """The shipped digits MLP as graph files (``graph.onnx`` beside its ``host.onnx``; the float graph
    alone as ``.onnx`` and ``.nir``; the integer graph) and its test data, analog and encoded."""
    root = tmp_path_factory.mktemp("graphs")
    model, metadata = load(SHIPPED_MODEL)
    test = load_split(metadata["dataset"], "test")
    x, y = test.x[:SAMPLES], test.y[:SAMPLES]
    graph = graph_from_module(model, metadata)
    (root / "bundle").mkdir()
    write_onnx(graph, root / "bundle" / "graph.onnx")
    (root / "bundle" / "host.onnx").write_bytes(host_onnx_bytes(model, x))
    write_onnx(graph, root / "float.onnx")
    write_nir(graph, root / "float.nir")
    spikes = encode(model, x)
    int_graph, _ = quantize(graph, load_profile("loihi2"), spikes)
    write_onnx(int_graph, root / "graph.int.onnx")
    np.savez(root / "analog.npz", x=x, y=y)
    np.savez(root / "encoded.npz", x=spikes, y=y)
    np.save(root / "input.npy", spikes[:3].transpose(0, 2, 1))  # (samples, neurons, steps)
    return {name: root / name for name in ("bundle", "float.onnx", "float.nir", "graph.int.onnx")} | {
        "graph.onnx": root / "bundle" / "graph.onnx",
        "analog": root / "analog.npz",
        "encoded": root / "encoded.npz",
        "input": root / "input.npy",
    }


def test_graph_onnx_with_its_host_encoder_exports_verifies_and_prices_on_the_data(files, tmp_path):
    out = tmp_path / "from_graph.latdeploy"
    result = invoke("export", files["graph.onnx"], "--data", files["analog"], "--samples", "6", "-o", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert f"calibration the first {SAMPLES} samples of --data" in result.output
    assert "inputs the file's encoder encodes" in result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"]["format"] == "onnx" and manifest["model"]["file"] == "model.onnx"
    assert manifest["data"]["calibration"] == {"from": "data", "samples": SAMPLES}
    assert (out / "host.onnx").read_bytes() == (files["bundle"] / "host.onnx").read_bytes()
    parity = json.loads((out / "parity.json").read_text())
    assert parity["fixed_vs_hardware"]["mismatches"] == 0
    assert parity["float_vs_fixed"]["mismatches"] == 0  # the graph's float run is the shipped model's

    result = invoke("verify", out, "--samples", "6", "--hardware-samples", "1", "--quiet")  # model.onnx + data again
    assert result.exit_code == 0, result.output

    result = invoke("energy", files["graph.onnx"], "--data", files["analog"], "--samples", "6", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["profiles"][0]["sops"] > 0


def test_nir_file_exports_on_encoded_spikes_with_zero_mismatches(files, tmp_path):
    out = tmp_path / "from_nir.latdeploy"
    result = invoke("export", files["float.nir"], "--data", files["encoded"], "--samples", "5", "-o", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert "already-encoded spikes" in result.output
    parity = json.loads((out / "parity.json").read_text())
    assert parity["fixed_vs_hardware"]["mismatches"] == 0 and parity["float_vs_fixed"]["mismatches"] == 0
    assert json.loads((out / "manifest.json").read_text())["model"]["file"] == "model.nir"


def test_sweep_requantizes_a_float_graph_per_setting(files, tmp_path):
    result = invoke(
        "sweep", files["float.onnx"], "--data", files["encoded"], "--weight-bits", "8,3", "--samples", "10",
        "--hardware-samples", "1", "-o", tmp_path / "float.sweep", "--quiet", "--json",
    )  # fmt: skip
    assert result.exit_code in (0, 4), result.output
    settings = json.loads((tmp_path / "float.sweep" / "sweep.json").read_text())["settings"]
    assert [s["weight_bits"] for s in settings] == [8, 3]
    assert all(s["fixed_vs_hardware_mismatches"] == 0 for s in settings)
    assert settings[0]["sops"] != settings[1]["sops"] or settings[0]["accuracy"] != settings[1]["accuracy"]


def test_run_on_a_float_graph_quantizes_it_on_its_input_and_says_so(files, tmp_path):
    out = tmp_path / "out.npy"
    result = invoke("run", files["float.onnx"], "--input", files["input"], "--backend", "fixed", "-o", out)
    assert result.exit_code == 0, result.output
    assert "float.onnx holds a float graph: quantized for loihi2 with this input (3 sample(s))" in result.output
    spikes = np.load(files["input"]).transpose(0, 2, 1)
    int_graph, _ = quantize(read_onnx(files["float.onnx"]), load_profile("loihi2"), spikes)
    expected = simulate_fixed(int_graph, spikes).output().spikes.transpose(0, 2, 1)
    assert np.array_equal(np.load(out), expected)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("export", "float.onnx"), "float.onnx: a graph (.onnx) file carries no dataset; give --data"),
        (("verify", "float.nir"), "float.nir: a NIR graph (.nir) file carries no dataset; give --data"),
        (("export", "float.onnx", "--data", "analog"), "field 'x' has shape [30, 64]; float.onnx takes [N, 8, 64]"),
        (("sweep", "graph.int.onnx", "--data", "encoded"), "holds an integer graph (already quantized), with no float"),
        (("export", "graph.int.onnx", "--data", "encoded", "--format", "nir"), "writes the float graph, which an"),
    ],
)
def test_what_a_graph_file_cannot_do_is_a_one_line_exit_2_error(files, tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)  # where export and sweep would write their default outputs
    code, stderr = exit_and_stderr(monkeypatch, capsys, *(files.get(arg, arg) for arg in args), "--samples", "2")
    assert code == 2, stderr
    assert stderr.count("\n") == 1, stderr
    assert message in stderr
    assert not list(tmp_path.iterdir())
