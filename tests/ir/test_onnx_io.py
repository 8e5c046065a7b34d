from __future__ import annotations

import dataclasses

import numpy as np
import onnx

import latdeploy
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.ir.onnx_io import DOMAIN, from_onnx, to_onnx, write_onnx
from tests.conftest import int_graph


def _assert_same_graph(a, b):
    assert a.metadata == b.metadata
    assert [type(n) for n in a.nodes] == [type(n) for n in b.nodes]
    for left, right in zip(a.nodes, b.nodes, strict=True):
        for f in dataclasses.fields(left):
            x, y = getattr(left, f.name), getattr(right, f.name)
            if isinstance(x, np.ndarray):
                assert x.dtype == y.dtype and np.array_equal(x, y)
            else:
                assert x == y, f.name


def test_float_graph_of_shipped_model_passes_checker_and_round_trips(shipped_model_path, tmp_path):
    model, metadata = latdeploy.load(shipped_model_path)
    graph = graph_from_module(model, metadata)
    path = write_onnx(graph, tmp_path / "graph.onnx")
    loaded = onnx.load(path)
    onnx.checker.check_model(loaded, full_check=True)
    assert {n.domain for n in loaded.graph.node} == {DOMAIN}
    _assert_same_graph(graph, from_onnx(loaded))


def test_integer_graph_round_trips_exactly_and_deterministically():
    graph = int_graph(np.random.default_rng(3), (5, 4, 3), timesteps=6, du=17, dv=300, vth=1000)
    model = to_onnx(graph)
    onnx.checker.check_model(model, full_check=True)
    _assert_same_graph(graph, from_onnx(model))
    assert model.SerializeToString(deterministic=True) == to_onnx(graph).SerializeToString(deterministic=True)


def test_threshold_survives_exactly(shipped_model_path):
    model, metadata = latdeploy.load(shipped_model_path)
    graph = graph_from_module(model, metadata)
    odd = graph.replace_nodes([n.replace(threshold=0.1 + 0.2) if n.kind == "neuron" else n for n in graph.nodes])
    assert from_onnx(to_onnx(odd)).neurons()[0].threshold == 0.1 + 0.2
