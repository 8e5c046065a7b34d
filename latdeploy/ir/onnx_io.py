"""ONNX (de)serialisation of the IR, driven by the node registry and the fields' type annotations.

Every node becomes one ONNX node of op type ``<class name>`` in the custom domain
:data:`DOMAIN` (version :data:`DOMAIN_VERSION`), one output named after the node:

* tensor fields (annotated ``np.ndarray``) become initializers named
  ``<node>.<field>`` passed as extra inputs after the node's graph inputs, with
  their exact dtype and shape (a ``None`` tensor is left out);
* ``int`` fields become INT attributes, ``bool`` fields INT attributes read back
  as bool, ``str`` fields STRING attributes, ``float`` fields 0-d float64 TENSOR
  attributes (ONNX's FLOAT attribute is float32 and would round), ``tuple`` fields
  INTS (or a 1-D float64 TENSOR for floats); a ``None`` attribute is left out and
  reads back as the field's default.

The graph input is the ``SpikeInput`` node (``float [T, batch, neurons]``), its
other attribute fields go to the model property ``latdeploy.input``; every neuron
layer is a graph output; graph metadata is JSON in ``latdeploy.metadata``. Reading
back gives a graph equal field for field, dtype for dtype.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper

from latdeploy.errors import LatdeployError, ModelFormatError
from latdeploy.ir.graph import Graph
from latdeploy.ir.nodes import NODE_TYPES, Node, SpikeInput
from latdeploy.untrusted.json_document import load_json

DOMAIN = "ai.latdeploy"
DOMAIN_VERSION = 1
PRODUCER = "latdeploy"
OPSET = 17
INPUT_PROPERTY = "latdeploy.input"
METADATA_PROPERTY = "latdeploy.metadata"
MAX_FILE_BYTES = 2**31 - 1
"""The largest ONNX file :func:`read_onnx` reads (protobuf's own limit)."""
IR_VERSION = 8
"""The ONNX IR version :func:`to_onnx` writes."""
READABLE_IR_VERSIONS = range(3, onnx.IR_VERSION + 1)
"""IR versions :func:`from_onnx` reads: those the installed ``onnx`` package implements."""
READABLE_OPSETS = {"": range(1, onnx.defs.onnx_opset_version() + 1), DOMAIN: range(1, DOMAIN_VERSION + 1)}
"""Opset versions :func:`from_onnx` reads, per domain: the installed ``onnx``'s and latdeploy's own."""


def _annotation(cls: type[Node], name: str) -> str:
    for item in dataclasses.fields(cls):
        if item.name == name:
            return str(item.type)
    raise ModelFormatError(f"{cls.__name__} has no field {name!r}")


def _attribute(node: Node, name: str, value: Any) -> AttributeProto | None:
    where = f"node {node.name!r}: attribute {name!r}"
    if value is None:
        return None
    if isinstance(value, bool):
        return helper.make_attribute(name, int(value))
    if isinstance(value, (int, np.integer)):
        return helper.make_attribute(name, int(value))
    if isinstance(value, (float, np.floating)):
        return helper.make_attribute(name, numpy_helper.from_array(np.array(value, dtype=np.float64)))
    if isinstance(value, str):
        return helper.make_attribute(name, value)
    if isinstance(value, (tuple, list)):
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            return helper.make_attribute(name, [int(v) for v in value], attr_type=AttributeProto.INTS)
        if all(isinstance(v, (int, float, np.integer, np.floating)) for v in value):
            return helper.make_attribute(name, numpy_helper.from_array(np.array(value, dtype=np.float64)))
    raise ModelFormatError(f"{where} has type {type(value).__name__}, which ONNX export does not support")


def _attribute_value(cls: type[Node], attribute: AttributeProto) -> Any:
    annotation = _annotation(cls, attribute.name)
    value = helper.get_attribute_value(attribute)
    if isinstance(value, TensorProto):
        array = numpy_helper.to_array(value)
        return tuple(float(v) for v in array.reshape(-1)) if "tuple" in annotation else float(array)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return tuple(int(v) for v in value)
    if annotation.startswith("bool"):
        return bool(value)
    return value


def to_onnx(graph: Graph) -> onnx.ModelProto:
    """Return ``graph`` as an ONNX model that passes ``onnx.checker.check_model``.

    Raises:
        ModelFormatError: if a field has a type this format cannot hold.
    """
    onnx_nodes, initializers = [], []
    source = graph.input
    for node in graph.nodes:
        if isinstance(node, SpikeInput):
            continue
        inputs = list(node.inputs)
        for field_name, tensor in node.tensor_fields().items():
            if tensor is None:
                continue
            initializer_name = f"{node.name}.{field_name}"
            initializers.append(numpy_helper.from_array(np.ascontiguousarray(tensor), initializer_name))
            inputs.append(initializer_name)
        attributes = [_attribute(node, k, v) for k, v in node.attribute_fields().items()]
        onnx_node = helper.make_node(type(node).__name__, inputs, [node.name], name=node.name, domain=DOMAIN)
        onnx_node.attribute.extend(a for a in attributes if a is not None)
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
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(DOMAIN, DOMAIN_VERSION)],
    )
    model.ir_version = IR_VERSION
    input_fields = {k: list(v) if isinstance(v, tuple) else v for k, v in source.attribute_fields().items()}
    helper.set_model_props(
        model,
        {
            METADATA_PROPERTY: json.dumps(graph.metadata, sort_keys=True),
            INPUT_PROPERTY: json.dumps(input_fields, sort_keys=True),
        },
    )
    return model


def _spike_input(model: onnx.ModelProto, props: dict[str, str]) -> SpikeInput:
    graph_input = model.graph.input[0]
    if INPUT_PROPERTY in props:
        fields = _json_object(props, INPUT_PROPERTY)
    else:  # files of the first release kept only the encoding
        dims = graph_input.type.tensor_type.shape.dim
        fields = {"neurons": dims[2].dim_value, "encoding": props.get("latdeploy.input_encoding", "latency")}
    for key, value in fields.items():
        if isinstance(value, list):
            fields[key] = tuple(value)
    return SpikeInput(name=graph_input.name, inputs=(), **fields)


def from_onnx(model: onnx.ModelProto) -> Graph:
    """Rebuild a :class:`Graph` from a model written by :func:`to_onnx`.

    Raises:
        ModelFormatError: if the IR version or an opset is beyond what this reader implements
            (:func:`check_versions`), the metadata JSON is beyond its size or depth limit
            (:func:`latdeploy.untrusted.json_document.load_json`), an op is not a registered
            latdeploy node or a field is missing or invalid (any malformed model: untrusted files never raise
            anything but a :class:`~latdeploy.errors.LatdeployError`).
    """
    try:
        return _from_onnx(model)
    except LatdeployError:
        raise
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError) as error:
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise ModelFormatError(f"malformed latdeploy ONNX model ({type(error).__name__}: {reason})") from error


def _json_object(props: Mapping[str, str], key: str) -> dict[str, Any]:
    value = load_json(props[key], f"ONNX model property {key!r}")
    if not isinstance(value, dict):
        raise ModelFormatError(f"ONNX model property {key!r} is not a JSON object")
    return value


def check_versions(model: onnx.ModelProto) -> None:
    """Check the model's IR version and opset imports against :data:`READABLE_IR_VERSIONS` and
    :data:`READABLE_OPSETS`.

    Raises:
        ModelFormatError: naming the field (``ir_version`` or the opset's domain), its value and
            what this reader implements.
    """
    if model.ir_version not in READABLE_IR_VERSIONS:
        low, high = READABLE_IR_VERSIONS.start, READABLE_IR_VERSIONS.stop - 1
        raise ModelFormatError(f"ONNX field 'ir_version' is {model.ir_version}; this reader implements {low}..{high}")
    for opset in model.opset_import:
        domain = "" if opset.domain == "ai.onnx" else opset.domain
        readable = READABLE_OPSETS.get(domain)
        if readable is None:
            raise ModelFormatError(
                f"ONNX field 'opset_import' names domain {opset.domain!r}, which latdeploy does not read"
            )
        if opset.version not in readable:
            raise ModelFormatError(
                f"ONNX field 'opset_import' asks for {opset.domain or 'ai.onnx'} opset {opset.version}; "
                f"this reader implements {readable.start}..{readable.stop - 1}"
            )


def _from_onnx(model: onnx.ModelProto) -> Graph:
    check_versions(model)
    props = {p.key: p.value for p in model.metadata_props}
    if METADATA_PROPERTY not in props:
        raise ModelFormatError("ONNX model was not written by latdeploy (no latdeploy.metadata)")
    metadata = _json_object(props, METADATA_PROPERTY)
    # copies: to_array views the protobuf's read-only bytes, which torch.from_numpy warns about in the float simulator
    initializers = {t.name: numpy_helper.to_array(t).copy() for t in model.graph.initializer}
    if len(model.graph.input) != 1:
        raise ModelFormatError(f"ONNX model has {len(model.graph.input)} graph inputs; latdeploy graphs have one")
    nodes: list[Node] = [_spike_input(model, props)]
    for onnx_node in model.graph.node:
        cls = NODE_TYPES.find(onnx_node.op_type)
        if onnx_node.domain != DOMAIN or cls is None:
            raise ModelFormatError(
                f"ONNX node {onnx_node.name!r}: op {onnx_node.domain}:{onnx_node.op_type} is not a latdeploy node"
            )
        fields: dict[str, Any] = {}
        graph_inputs = []
        prefix = onnx_node.name + "."
        for name in onnx_node.input:
            if name in initializers and name.startswith(prefix):
                fields[name[len(prefix) :]] = initializers[name]
            else:
                graph_inputs.append(name)
        for attribute in onnx_node.attribute:
            fields[attribute.name] = _attribute_value(cls, attribute)
        try:
            nodes.append(cls(name=onnx_node.name, inputs=tuple(graph_inputs), **fields))
        except TypeError as error:
            raise ModelFormatError(
                f"ONNX node {onnx_node.name!r}: fields do not fit {cls.__name__} ({error})"
            ) from error
    return Graph(tuple(nodes), metadata)


def read_onnx(path: str | os.PathLike[str]) -> Graph:
    """Read the latdeploy ONNX file ``path`` back into a graph (:func:`from_onnx`).

    Returns:
        The graph.

    Raises:
        ModelFormatError: if the file is larger than :data:`MAX_FILE_BYTES`, not readable
            ONNX (a corrupt protobuf), or not a graph :func:`from_onnx` reads; one line
            naming the file.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ModelFormatError(f"{path}: cannot be read ({error.strerror or error})") from error
    if size > MAX_FILE_BYTES:
        raise ModelFormatError(f"{path}: file is {size} bytes, more than the limit of {MAX_FILE_BYTES}")
    try:
        model = onnx.load(str(path))
    except Exception as error:  # protobuf raises DecodeError and others for a corrupt file
        raise ModelFormatError(f"{path}: not a readable ONNX file ({type(error).__name__})") from error
    try:
        return from_onnx(model)
    except LatdeployError as error:
        raise type(error)(f"{path}: {error}") from error


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
