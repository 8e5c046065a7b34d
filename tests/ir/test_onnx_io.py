from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import latdeploy
import latdeploy.sim.fixed_delay  # noqa: F401  (registers the DelayDenseInt kernel)
from latdeploy.errors import ModelFormatError
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.ir import NODE_TYPES, Graph, SpikeInput
from latdeploy.ir.onnx_io import DOMAIN, from_onnx, to_onnx, write_onnx
from latdeploy.sim import fixed, float_sim
from tests.conftest import int_graph
from tests.ir.node_examples import node_graphs


def _assert_same_graph(a, b):
    assert a.metadata == b.metadata
    assert [type(n) for n in a.nodes] == [type(n) for n in b.nodes]
    for left, right in zip(a.nodes, b.nodes, strict=True):
        for f in dataclasses.fields(left):
            x, y = getattr(left, f.name), getattr(right, f.name)
            if isinstance(x, np.ndarray):
                assert x.dtype == y.dtype and np.array_equal(x, y)
            else:
                assert type(x) is type(y) and x == y, f.name


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


def _simulator(graph: Graph):
    """The simulator that runs every node of ``graph``, if any."""
    for registry, simulate in (
        (fixed.FIXED_KERNELS, fixed.simulate_fixed),
        (float_sim.FLOAT_KERNELS, float_sim.simulate_float),
    ):
        if all(isinstance(n, SpikeInput) or type(n) in registry for n in graph.nodes):
            return simulate
    return None


@pytest.mark.parametrize("type_name", sorted(NODE_TYPES))
@given(data=st.data())
@settings(max_examples=15)
def test_every_registered_node_type_round_trips_exactly(type_name, data):
    """Collected from the registry: a node type added without ONNX support fails here."""
    graph = data.draw(node_graphs(NODE_TYPES.get(type_name)))
    assert any(type(n).__name__ == type_name for n in graph.nodes)
    model = to_onnx(graph)
    onnx.checker.check_model(model, full_check=True)
    back = from_onnx(onnx.load_from_string(model.SerializeToString(deterministic=True)))
    _assert_same_graph(graph, back)
    simulate = _simulator(graph)
    if simulate is not None:
        rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
        spikes = (rng.random((2, graph.timesteps, graph.input.size)) < 0.5).astype(np.uint8)
        before, after = simulate(graph, spikes), simulate(back, spikes)
        assert before.layers.keys() == after.layers.keys()
        for name, layer in before.layers.items():
            assert np.array_equal(layer.spikes, after.layers[name].spikes), name
            assert np.array_equal(layer.v_pre, after.layers[name].v_pre), name


def test_foreign_ops_and_unknown_fields_are_refused():
    graph = int_graph(np.random.default_rng(0), (3, 2), timesteps=2)
    model = to_onnx(graph)
    model.graph.node[0].op_type = "Conv"
    with pytest.raises(ModelFormatError, match="not a latdeploy node"):
        from_onnx(model)
    model = to_onnx(graph)
    model.graph.node[1].attribute.append(onnx.helper.make_attribute("colour", 3))
    with pytest.raises(ModelFormatError, match="no field 'colour'"):
        from_onnx(model)
    model = to_onnx(graph)
    del model.metadata_props[:]
    with pytest.raises(ModelFormatError, match="not written by latdeploy"):
        from_onnx(model)
