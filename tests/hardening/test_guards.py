"""Guards: no IR node accepts a value of the wrong type, and no integer node accepts a
hardware value outside its bit width (nothing wraps silently at export). Runs over every
registered node type, including those added later."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.errors import LatdeployError, ModelFormatError
from latdeploy.ir import NODE_TYPES, SpikeInput
from tests.ir.node_examples import node_graphs

HARDWARE_SCALARS = ("weight_exp", "num_weight_bits", "du", "dv", "vth", "bias_exp", "levels", "steps")
HARDWARE_TENSORS = ("weight", "bias_mant", "delay")
WRONG_TYPES = {"int": [1.5, "3", True, None], "float": ["0.5", None, float("nan"), float("inf")], "str": [3, None]}


def _node_under_test(graph, cls):
    return next(node for node in graph.nodes if type(node) is cls)


@pytest.mark.parametrize("type_name", sorted(NODE_TYPES))
@settings(max_examples=5)
@given(data=st.data())
def test_scalar_fields_of_the_wrong_type_are_refused(type_name, data):
    cls = NODE_TYPES.get(type_name)
    node = _node_under_test(data.draw(node_graphs(cls)), cls)
    for item in dataclasses.fields(cls):
        for wrong in WRONG_TYPES.get(str(item.type), []) if item.name not in ("name", "inputs") else []:
            with pytest.raises(ModelFormatError, match=item.name):
                node.replace(**{item.name: wrong})


INTEGER_TYPES = sorted(name for name, cls in NODE_TYPES.items() if name.endswith("Int") and cls is not SpikeInput)


@pytest.mark.parametrize("type_name", INTEGER_TYPES)
@settings(max_examples=5)
@given(data=st.data(), sign=st.sampled_from([1, -1]), magnitude=st.sampled_from([2**24, 2**31 - 1, 2**40]))
def test_integer_nodes_refuse_values_beyond_their_bit_width(type_name, data, sign, magnitude):
    cls = NODE_TYPES.get(type_name)
    node = _node_under_test(data.draw(node_graphs(cls)), cls)
    value = sign * magnitude
    checked = 0
    for name in HARDWARE_SCALARS:
        if hasattr(node, name):
            with pytest.raises(LatdeployError):
                node.replace(**{name: value})
            checked += 1
    for name in HARDWARE_TENSORS:
        tensor = getattr(node, name, None)
        if isinstance(tensor, np.ndarray) and tensor.size:
            beyond = tensor.astype(np.int64).copy()
            beyond.flat[0] = value
            with pytest.raises(LatdeployError):
                node.replace(**{name: beyond})
            checked += 1
    assert checked, f"{type_name} has no hardware field this guard test knows; add it to HARDWARE_*"
