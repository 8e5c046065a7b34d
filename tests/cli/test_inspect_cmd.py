"""``latdeploy inspect`` on every file kind it reads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from latdeploy.cli import cli
from latdeploy.errors import ModelFormatError
from latdeploy.flows.inspect import inspect_file
from latdeploy.ir.onnx_io import write_onnx
from tests.conftest import int_graph

NTIDIGITS = (
    Path(__file__).resolve().parents[2] / ".venv/lib/python3.10/site-packages/tests/lava/lib/dl/netx/gts/ntidigits"
)


def test_integer_onnx_and_bundle_directory(tmp_path):
    graph = int_graph(np.random.default_rng(2), (5, 4, 3), timesteps=4, du=7, vth=9)
    write_onnx(graph, tmp_path / "g.onnx")
    report = inspect_file(tmp_path / "g.onnx")
    assert report["format"] == "onnx" and list(report["graphs"]) == ["integer"]
    nodes = report["graphs"]["integer"]["nodes"]
    assert [n["type"] for n in nodes] == ["SpikeInput", "DenseInt", "LIFInt", "DenseInt", "LIFInt"]
    assert nodes[2]["attributes"]["du"] == 7 and nodes[1]["tensors"]["weight"]["shape"] == [4, 5]
    assert [n["lag"] for n in nodes] == [0, 1, 1, 2, 2]
    bundle = tmp_path / "b.latdeploy"
    bundle.mkdir()
    write_onnx(graph, bundle / "graph.int.onnx")
    result = CliRunner().invoke(cli, ["inspect", str(bundle)])
    assert result.exit_code == 0, result.output
    assert "[integer] integer graph, 4 time steps, 5 nodes, 7 neurons (LIFInt)" in result.output
    assert "du=7, dv=0, vth=9" in result.output and "chip: 4 nodes" in result.output


@pytest.mark.skipif(not NTIDIGITS.is_dir(), reason="lava-dl's netx test networks are not installed")
def test_netx_file_json():
    result = CliRunner().invoke(cli, ["inspect", str(NTIDIGITS / "ntidigits.net"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    integer = report["graphs"]["integer"]
    assert report["format"] == "netx" and integer["neuron_kinds"] == ["LIFInt"] and integer["neurons"] == 754
    assert integer["host_chip"]["host_operations"] == ["encoder: netx", "read-out: average"]
    delay = next(n for n in integer["nodes"] if n["type"] == "DelayDenseInt")["tensors"]["delay"]
    assert (delay["min"], delay["max"]) == (0, 62)


def test_checkpoint_shows_its_float_graph(shipped_model_path):
    report = inspect_file(shipped_model_path)
    assert report["format"] == "checkpoint" and list(report["graphs"]) == ["float"]
    assert report["graphs"]["float"]["neuron_kinds"] == ["LIF"]


def test_unknown_files_are_user_errors(tmp_path):
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(ModelFormatError, match="unknown model format"):
        inspect_file(tmp_path / "x.txt")
    (tmp_path / "d").mkdir()
    with pytest.raises(ModelFormatError, match="not a latdeploy bundle"):
        inspect_file(tmp_path / "d")
    (tmp_path / "bad.onnx").write_bytes(b"\x00garbage")
    with pytest.raises(ModelFormatError, match="bad.onnx"):
        inspect_file(tmp_path / "bad.onnx")


def test_nir_file_shows_its_float_graph(shipped_model_path, tmp_path):
    import latdeploy
    from latdeploy.backends.nir import write_nir
    from latdeploy.frontend.torch_module import graph_from_module

    model, metadata = latdeploy.load(shipped_model_path)
    write_nir(graph_from_module(model, metadata), tmp_path / "digits.nir")
    result = CliRunner().invoke(cli, ["inspect", str(tmp_path / "digits.nir")])
    assert result.exit_code == 0, result.output
    assert "(nir)" in result.output and "[float] float graph, 8 time steps, 5 nodes, 138 neurons (LIF)" in result.output
