"""Fuzz the ONNX reader (latdeploy.ir.onnx_io.from_onnx, through the file-level
latdeploy.frontend.model_file.load_graph): truncated and mutated protobufs, wrong
attribute types, broken initializers and metadata."""

from __future__ import annotations

import numpy as np
import onnx
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper, numpy_helper

from latdeploy.errors import LatdeployError
from latdeploy.frontend.model_file import load_graph
from latdeploy.ir.onnx_io import from_onnx, to_onnx
from tests.conftest import int_graph
from tests.hardening.fuzzing import MEMORY_GROWTH_LIMIT_BYTES, peak_rss_bytes, read_or_refuse

VALID = to_onnx(int_graph(np.random.default_rng(0), (6, 5, 3), 4, vth=10))
VALID_BYTES = VALID.SerializeToString(deterministic=True)

ATTRIBUTE_VALUES = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.lists(st.integers(-5, 5), min_size=1, max_size=3),
    st.lists(st.floats(allow_nan=False, width=32), min_size=1, max_size=3),
    st.sampled_from([np.array([1.5, np.nan]), np.zeros((2, 2), np.int64), np.array(7, np.int32)]).map(
        numpy_helper.from_array
    ),
)

BROKEN_JSON = [
    "",
    "{",
    "[]",
    "null",
    '{"timesteps": -1}',
    '{"timesteps": "x"}',
    "1e999",
    '{"neurons": -3}',
    "[" * 100_000 + "]" * 100_000,
    '{"a": ' * 50_000 + "1" + "}" * 50_000,
]


@st.composite
def structural_mutation(draw) -> onnx.ModelProto:
    model = onnx.ModelProto.FromString(VALID_BYTES)
    graph = model.graph
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["attribute", "initializer", "metadata", "version", "op", "input", "drop"]))
        node = graph.node[draw(st.integers(0, len(graph.node) - 1))]
        if action == "attribute":
            name = draw(st.sampled_from([a.name for a in node.attribute] + ["bogus"]))
            kept = [a for a in node.attribute if a.name != name]
            del node.attribute[:]
            node.attribute.extend(kept)
            node.attribute.append(helper.make_attribute(name, draw(ATTRIBUTE_VALUES)))
        elif action == "initializer" and len(graph.initializer):
            index = draw(st.integers(0, len(graph.initializer) - 1))
            name = graph.initializer[index].name
            shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
            dtype = draw(st.sampled_from([np.float32, np.float64, np.int64, np.int8, np.bool_, np.uint16]))
            value = draw(st.sampled_from([0, 1, 300, -(2**40), np.nan]))
            array = np.full(shape, value if np.issubdtype(dtype, np.floating) or not np.isnan(value) else 0)
            graph.initializer[index].CopyFrom(numpy_helper.from_array(array.astype(dtype), name))
        elif action == "metadata":
            prop = model.metadata_props[draw(st.integers(0, len(model.metadata_props) - 1))]
            prop.value = draw(st.sampled_from(BROKEN_JSON))
        elif action == "version":
            model.ir_version = draw(st.sampled_from([0, 2, 99, 2**40]))
            model.opset_import[draw(st.integers(0, len(model.opset_import) - 1))].version = draw(
                st.sampled_from([0, 999, 2**40])
            )
        elif action == "op":
            node.op_type = draw(st.sampled_from(["DenseInt", "LIFInt", "LIF", "Dense", "SpikeInput", "Relu", ""]))
        elif action == "input":
            node.input.append(draw(st.sampled_from(["input", "nowhere", node.name, ""])))
        else:
            del graph.input[:]
    return model


@settings(max_examples=80)
@given(model=structural_mutation(), integer=st.booleans())
def test_fuzz_onnx_structure(tmp_path_factory, model, integer):
    path = tmp_path_factory.mktemp("onnx") / "fuzz.onnx"
    path.write_bytes(model.SerializeToString())
    before = peak_rss_bytes()
    read_or_refuse(lambda: load_graph(path, integer=integer), path)
    try:
        from_onnx(model)
    except LatdeployError:
        pass
    assert peak_rss_bytes() - before < MEMORY_GROWTH_LIMIT_BYTES


@settings(max_examples=60)
@given(data=st.data())
def test_fuzz_onnx_bytes(tmp_path_factory, data):
    raw = bytearray(VALID_BYTES)
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    else:
        for _ in range(data.draw(st.integers(1, 12))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    path = tmp_path_factory.mktemp("onnx") / "fuzz.onnx"
    path.write_bytes(bytes(raw))
    read_or_refuse(lambda: load_graph(path, integer=True), path)


def test_unmutated_onnx_loads(tmp_path):
    path = tmp_path / "valid.onnx"
    path.write_bytes(VALID_BYTES)
    graph = load_graph(path, integer=True)
    assert [node.name for node in graph.nodes] == ["input", "dense1", "lif1", "dense2", "lif2"]
