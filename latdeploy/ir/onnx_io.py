"""ONNX (de)serialisation of the IR, driven by the node registry.

Every node becomes one ONNX node of op type ``<class name>`` in the custom domain
:data:`DOMAIN` (version 1): tensor fields become initializers named
``<node>.<field>`` passed as extra inputs, other fields become attributes (float
fields as float64 tensors, so thresholds survive exactly). The graph input is the
``SpikeInput`` node (``float [T, batch, neurons]``); every neuron layer is a graph
output. Graph metadata is stored as JSON in ``metadata_props``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper

from latdeploy.errors import ModelFormatError
from latdeploy.ir.graph import Graph
from latdeploy.ir.nodes import NODE_TYPES, SpikeInput

DOMAIN = "ai.latdeploy"
DOMAIN_VERSION = 1
PRODUCER = "latdeploy"


def _attribute(name: str, value: Any) -> AttributeProto:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ModelFormatError(f"attribute {name!r} has unsupported type {type(value).__name__}")
    if isinstance(value, float):
        return helper.make_attribute(name, numpy_helper.from_array(np.array(value, dtype=np.float64)))
    return helper.make_attribute(name, value)


def to_onnx(graph: Graph) -> onnx.ModelProto:
    """Return ``graph`` as an ONNX model that passes ``onnx.checker.check_model``."""
    onnx_nodes, initializers = [], []
    source = graph.input
    for node in graph.nodes:
        if isinstance(node, SpikeInput):
            continue
        inputs = list(node.inputs)
        for field_name, tensor in node.tensor_fields().items():
            initializer_name = f"{node.name}.{field_name}"
            initializers.append(numpy_helper.from_array(np.ascontiguousarray(tensor), initializer_name))
            inputs.append(initializer_name)
        attributes = [_attribute(k, v) for k, v in node.attribute_fields().items()]
        onnx_node = helper.make_node(type(node).__name__, inputs, [node.name], name=node.name, domain=DOMAIN)
        onnx_node.attribute.extend(attributes)
        onnx_nodes.append(onnx_node)
    timesteps = graph.timesteps
    graph_input = helper.make_tensor_value_info(source.name, TensorProto.FLOAT, [timesteps, "batch", source.size])
    graph_input.doc_string = f"SpikeInput encoding={source.encoding}"
    outputs = [
        helper.make_tensor_value_info(n.name, TensorProto.FLOAT, [timesteps, "batch", n.size]) for n in graph.neurons()
    ]
    onnx_graph = helper.make_graph(onnx_nodes, "latdeploy_graph", [graph_input], outputs, initializer=initializers)
    model = helper.make_model(
        onnx_graph,
        producer_name=PRODUCER,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(DOMAIN, DOMAIN_VERSION)],
    )
    model.ir_version = 8
    helper.set_model_props(
        model,
        {"latdeploy.metadata": json.dumps(graph.metadata, sort_keys=True), "latdeploy.input_encoding": source.encoding},
    )
    return model


def from_onnx(model: onnx.ModelProto) -> Graph:
    """Rebuild a :class:`Graph` from a model written by :func:`to_onnx`.

    Raises:
        ModelFormatError: if an op is not a registered latdeploy node or a field is missing.
    """
    props = {p.key: p.value for p in model.metadata_props}
    if "latdeploy.metadata" not in props:
        raise ModelFormatError("ONNX model was not written by latdeploy (no latdeploy.metadata)")
    metadata = json.loads(props["latdeploy.metadata"])
    initializers = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    graph_input = model.graph.input[0]
    nodes: list = [
        SpikeInput(
            name=graph_input.name,
            inputs=(),
            neurons=graph_input.type.tensor_type.shape.dim[2].dim_value,
            encoding=props.get("latdeploy.input_encoding", "latency"),
        )
    ]
    for onnx_node in model.graph.node:
        cls = NODE_TYPES.get(onnx_node.op_type)
        if onnx_node.domain != DOMAIN or cls is None:
            raise ModelFormatError(
                f"ONNX node {onnx_node.name!r}: op {onnx_node.domain}:{onnx_node.op_type} is not a latdeploy node"
            )
        fields: dict[str, Any] = {}
        graph_inputs = []
        for name in onnx_node.input:
            if name in initializers:
                fields[name.split(".", 1)[1] if name.startswith(onnx_node.name + ".") else name] = initializers[name]
            else:
                graph_inputs.append(name)
        for attribute in onnx_node.attribute:
            value = helper.get_attribute_value(attribute)
            if isinstance(value, TensorProto):
                value = float(numpy_helper.to_array(value))
            elif isinstance(value, bytes):
                value = value.decode()
            fields[attribute.name] = value
        nodes.append(cls(name=onnx_node.name, inputs=tuple(graph_inputs), **fields))
    return Graph(tuple(nodes), metadata)


def write_onnx(graph: Graph, path: str | os.PathLike[str]) -> Path:
    """Check and write ``graph`` to ``path``; returns the path.

    Raises:
        onnx.checker.ValidationError: if the model fails the ONNX checker (a bug).
    """
    model = to_onnx(graph)
    onnx.checker.check_model(model)
    path = Path(path)
    path.write_bytes(model.SerializeToString(deterministic=True))
    return path
