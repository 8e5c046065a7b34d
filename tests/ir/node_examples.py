"""A hypothesis strategy that builds a small valid graph around any registered node type.

A node class may define ``example(rng: np.random.Generator) -> list[Node]`` (a
classmethod returning the nodes after the ``SpikeInput`` called ``"input"``, the
node under test among them); otherwise its fields are drawn from their type
annotations (tensors ``[out, in]`` for ``weight``/``delay``, ``[out]`` otherwise;
integer tensors for ``...Int`` nodes) and drawings that the node's own validation
refuses are rejected.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import reject
from hypothesis import strategies as st

from latdeploy.errors import LatdeployError
from latdeploy.ir import LIF, Graph, LIFInt, Node, SpikeInput

INTEGER_TENSOR_RANGES = {"weight": (-256, 255), "delay": (0, 62), "bias_mant": (-4096, 4095)}


def _default(item: dataclasses.Field):
    if item.default is not dataclasses.MISSING:
        return item.default
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return None


def _tensor(draw, cls: type[Node], name: str, rows: int, columns: int) -> np.ndarray:
    shape = (rows, columns) if name in ("weight", "delay") else (rows,)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if cls.__name__.endswith("Int"):
        low, high = INTEGER_TENSOR_RANGES.get(name, (0, 100))
        return rng.integers(low, high + 1, shape).astype(np.int32)
    return (rng.standard_normal(shape) * draw(st.sampled_from([1e-3, 1.0, 1e3]))).astype(np.float32)


def _scalar(draw, annotation: str, default):
    if annotation.startswith("bool"):
        return draw(st.booleans())
    if annotation.startswith("int"):
        top = max(2 * int(default or 0), 8)
        return draw(st.one_of(st.just(default), st.integers(-8, top)))
    if annotation.startswith("float"):
        return draw(st.one_of(st.just(default), st.floats(0.0, 1.0), st.just(0.1 + 0.2)))
    return default


@st.composite
def node_graphs(draw, cls: type[Node]) -> Graph:
    """Draw a valid graph ``SpikeInput -> cls node (-> neuron)`` for the registered ``cls``."""
    timesteps = draw(st.integers(1, 6))
    if cls is SpikeInput:
        size = draw(st.integers(1, 6))
        nodes: list[Node] = [LIF("lif", ("input",), bias=np.zeros(size, np.float32))]
        return Graph((SpikeInput("input", (), neurons=size, encoding=draw(st.sampled_from(["latency", "netx"]))),
                      *nodes), {"timesteps": timesteps})  # fmt: skip
    example = getattr(cls, "example", None)
    if example is not None:
        nodes = list(example(np.random.default_rng(draw(st.integers(0, 2**32 - 1)))))
    else:
        rows, columns = draw(st.integers(1, 5)), draw(st.integers(1, 5))
        fields = {}
        for item in dataclasses.fields(cls):
            if item.name in ("name", "inputs"):
                continue
            annotation = str(item.type)
            if "ndarray" in annotation:
                fields[item.name] = _tensor(draw, cls, item.name, rows, columns)
            else:
                fields[item.name] = _scalar(draw, annotation, _default(item))
        try:
            node = cls("node", ("input",), **fields)
        except LatdeployError:
            reject()
        nodes = [node]
        if node.kind == "synapse":
            integer = cls.__name__.endswith("Int")
            neuron = (
                LIFInt("neuron", ("node",), bias_mant=np.zeros(node.size, np.int32))
                if integer
                else LIF("neuron", ("node",), bias=np.zeros(node.size, np.float32))
            )
            nodes.append(neuron)
    first = nodes[0]
    size = first.input_size() if first.input_size() is not None else draw(st.integers(1, 5))
    try:
        return Graph((SpikeInput("input", (), neurons=size), *nodes), {"timesteps": timesteps, "dataset": "example"})
    except LatdeployError:
        reject()
