from __future__ import annotations

import numpy as np
import pytest

from latdeploy.errors import ModelFormatError, QuantizationRangeError
from latdeploy.ir import NODE_TYPES, Dense, Graph, SpikeInput
from latdeploy.ir.neurons_ext import (
    TTFS,
    MultiThresholdLIF,
    MultiThresholdLIFInt,
    SoftResetLIF,
    SoftResetLIFInt,
    TTFSInt,
    message_bits,
)


def test_nodes_are_registered_and_validate():
    for cls in (SoftResetLIF, TTFS, MultiThresholdLIF, SoftResetLIFInt, TTFSInt, MultiThresholdLIFInt):
        assert NODE_TYPES.get(cls.__name__) is cls
    with pytest.raises(QuantizationRangeError, match="vth must be >= 1"):
        TTFSInt("n", ("d",), vth=0, bias_mant=np.zeros(2, np.int32))
    with pytest.raises(QuantizationRangeError, match="24-bit membrane"):
        MultiThresholdLIFInt("n", ("d",), vth=(1 << 17) - 1, levels=2, bias_mant=np.zeros(2, np.int32))
    with pytest.raises(ModelFormatError, match="levels"):
        MultiThresholdLIF("n", ("d",), levels=0, bias=np.zeros(2))
    with pytest.raises(ModelFormatError, match="reset"):
        MultiThresholdLIFInt("n", ("d",), reset="hard", bias_mant=np.zeros(2, np.int32))
    with pytest.raises(ModelFormatError, match="threshold"):
        SoftResetLIF("n", ("d",), threshold=0.0, bias=np.zeros(2))
    with pytest.raises(QuantizationRangeError, match="bias_mant"):
        SoftResetLIFInt("n", ("d",), bias_mant=np.array([5000]))


def test_message_bits_of_graded_and_binary_neurons():
    assert message_bits(MultiThresholdLIFInt("n", ("d",), levels=3, bias_mant=np.zeros(1, np.int32))) == 2
    assert message_bits(MultiThresholdLIF("n", ("d",), levels=4, bias=np.zeros(1))) == 3
    assert message_bits(MultiThresholdLIFInt("n", ("d",), levels=1, bias_mant=np.zeros(1, np.int32))) == 0
    assert message_bits(TTFSInt("n", ("d",), bias_mant=np.zeros(1, np.int32))) == 0


def test_nodes_take_part_in_graphs():
    graph = Graph(
        (
            SpikeInput("input", (), neurons=3),
            Dense("d", ("input",), weight=np.ones((2, 3))),
            MultiThresholdLIF("n", ("d",), levels=3, bias=np.zeros(2)),
        ),
        {"timesteps": 2},
    )
    assert [n.name for n in graph.neurons()] == ["n"]
    assert graph.lag("n") == 1
    assert graph.node("n").attribute_fields() == {
        "threshold": 1.0,
        "current_decay": 1.0,
        "voltage_decay": 0.0,
        "levels": 3,
        "reset": "zero",
    }
