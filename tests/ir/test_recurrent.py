"""Recurrent IR nodes: ONNX round trip that onnx.checker accepts, and their line in ``inspect``."""

from __future__ import annotations

import numpy as np
import onnx

from latdeploy.ir import Graph, RecurrentDense, RecurrentDenseInt, SpikeInput
from latdeploy.ir.describe import describe_graph, format_description
from latdeploy.ir.onnx_io import from_onnx, to_onnx


def test_recurrent_graphs_pass_the_onnx_checker_and_round_trip():
    for cls in (RecurrentDense, RecurrentDenseInt):
        graph = Graph((SpikeInput("input", (), neurons=2), *cls.example(np.random.default_rng(5))), {"timesteps": 4})
        model = to_onnx(graph)
        onnx.checker.check_model(model, full_check=True)
        back = from_onnx(onnx.load_from_string(model.SerializeToString()))
        ((layer, loop),) = back.loops().items()
        assert layer == "lif" and type(loop) is cls
        assert np.array_equal(loop.weight, graph.node("recurrent").weight)
        assert getattr(loop, "weight_exp", None) == getattr(graph.node("recurrent"), "weight_exp", None)


def test_inspect_prints_the_loop_beside_its_layer():
    graph = Graph((SpikeInput("input", (), neurons=2), *RecurrentDenseInt.example(np.random.default_rng(1))),
                  {"timesteps": 4})  # fmt: skip
    text = format_description(describe_graph(graph))
    line = next(row for row in text.splitlines() if row.startswith("recurrent"))
    assert "RecurrentDenseInt" in line and " recurrent " in line and "lif" in line and "weight_exp=-1" in line
