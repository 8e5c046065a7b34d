from __future__ import annotations

import numpy as np
import pytest

from latdeploy.backends.interchange import interchange_writers
from latdeploy.errors import LatdeployError, QuantizationRangeError, UnsupportedLayerError
from latdeploy.frontend.netx import read_netx
from latdeploy.frontend.nir import read_nir
from latdeploy.ir import LIF, TTFS, Dense, DenseInt, Graph, SpikeInput
from tests.conftest import int_graph


def _float_graph(neuron=LIF) -> Graph:
    rng = np.random.default_rng(0)
    nodes = [SpikeInput("input", (), neurons=3), Dense("d", ("input",), weight=rng.normal(size=(2, 3))),
             neuron("l", ("d",), bias=np.zeros(2))]  # fmt: skip
    return Graph(tuple(nodes), {"timesteps": 4})


def test_writers_for_netx_and_nir_write_readable_files(tmp_path):
    integer = int_graph(np.random.default_rng(1), (3, 2), timesteps=4, vth=10)
    writers = interchange_writers(_float_graph(), integer, ("onnx", "netx", "nir"))
    assert sorted(writers) == ["graph.net", "graph.nir"]
    for name, write in writers.items():
        write(tmp_path / name)
    assert read_netx(tmp_path / "graph.net").timesteps == 4
    assert [type(n) for n in read_nir(tmp_path / "graph.nir").nodes] == [SpikeInput, Dense, LIF]
    assert interchange_writers(_float_graph(), integer, ("onnx",)) == {}


def test_unexpressible_graphs_fail_before_anything_is_written():
    integer = int_graph(np.random.default_rng(1), (3, 2), timesteps=4)
    with pytest.raises(UnsupportedLayerError, match="TTFS cannot be exported to NIR"):
        interchange_writers(_float_graph(TTFS), integer, ("nir",))
    odd = Graph(
        (integer.nodes[0], DenseInt("dense1", ("input",), weight=np.array([[6, -10, 14], [2, 4, -18]]), weight_exp=-2),
         integer.nodes[2]),
        integer.metadata,
    )  # fmt: skip
    with pytest.raises(QuantizationRangeError, match="'dense1'"):
        interchange_writers(_float_graph(), odd, ("netx",))
    with pytest.raises(LatdeployError, match="unknown --format 'tflite'"):
        interchange_writers(_float_graph(), integer, ("tflite",))
