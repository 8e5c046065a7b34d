from __future__ import annotations

import numpy as np
import pytest

from latdeploy.errors import ModelFormatError, QuantizationRangeError
from latdeploy.ir import LIF, Dense, DenseInt, Graph, LIFInt, SpikeInput


def test_integer_fields_are_range_checked_with_the_node_name():
    with pytest.raises(QuantizationRangeError, match="'n1': vth 131073 outside.*0, 131072"):
        LIFInt("n1", ("d",), vth=(1 << 17) + 1, bias_mant=np.zeros(2, np.int32))
    with pytest.raises(QuantizationRangeError, match="'n1'.*bias_mant"):
        LIFInt("n1", ("d",), bias_mant=np.array([5000]))
    with pytest.raises(QuantizationRangeError, match="weight_exp"):
        DenseInt("d", ("i",), weight=np.ones((2, 2), np.int32), weight_exp=8)
    with pytest.raises(ModelFormatError, match="integer"):
        DenseInt("d", ("i",), weight=np.ones((2, 2)) * 0.5)


def test_float_nodes_validate():
    with pytest.raises(ModelFormatError, match="NaN"):
        Dense("d", ("i",), weight=np.array([[np.nan]]))
    with pytest.raises(ModelFormatError, match="threshold"):
        LIF("l", ("d",), threshold=0.0, bias=np.zeros(1))


def test_graph_checks_order_names_and_sizes_and_computes_lag():
    spike_input = SpikeInput("in", (), neurons=3)
    dense = Dense("d", ("in",), weight=np.ones((2, 3)))
    lif = LIF("l", ("d",), bias=np.zeros(2))
    graph = Graph((spike_input, dense, lif), {"timesteps": 4})
    assert graph.lag("l") == 1 and graph.neurons() == [lif]
    with pytest.raises(ModelFormatError, match="not an earlier node"):
        Graph((spike_input, lif, dense), {"timesteps": 4})
    with pytest.raises(ModelFormatError, match="expects 5 inputs but .d. has 2"):
        Graph((spike_input, dense, LIF("l", ("d",), bias=np.zeros(5))), {"timesteps": 4})
    with pytest.raises(ModelFormatError, match="used twice"):
        Graph((spike_input, dense, LIF("d", ("d",), bias=np.zeros(2))), {"timesteps": 4})
