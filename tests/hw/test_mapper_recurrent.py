"""The mapper places a recurrent layer: its loop's axons, synapses and own fan-out count on its cores."""

from __future__ import annotations

import numpy as np
import pytest

from latdeploy.errors import ResourceError
from latdeploy.hw.mapper import map_graph
from latdeploy.ir import LIF, Dense, Graph, RecurrentDense, SpikeInput
from tests.hw.test_mapper import _profile


def _recurrent(loop: np.ndarray) -> Graph:
    size = loop.shape[0]
    return Graph(
        (
            SpikeInput("input", (), neurons=3),
            Dense("dense", ("input",), weight=np.ones((size, 3), np.float32)),
            LIF("lif", ("dense",), bias=np.zeros(size, np.float32)),
            RecurrentDense("rec", ("lif",), weight=loop.astype(np.float32)),
        ),
        {"timesteps": 4},
    )


def test_recurrent_axons_synapses_and_own_fan_out_by_hand(tmp_path):
    loop = np.zeros((8, 8))
    loop[:4, 4:] = 1.0  # the second half drives the first half
    loop[4:, 4] = 1.0  # neuron 4 also drives the second half
    mapping = map_graph(_recurrent(loop), _profile(tmp_path, neurons_per_core=4))
    first, second = mapping["cores"]
    # core 0 (neurons 0-3): 3 input axons + own neurons 4..7; core 1 (4-7): 3 + neuron 4
    assert (first["fan_in"], second["fan_in"]) == (3 + 4, 3 + 1)
    assert (first["synapses"], second["synapses"]) == (12 + 16, 12 + 4)
    # neurons 0-3 reach no own core; neurons 4..7 reach core 0, neuron 4 also core 1
    assert (first["fan_out"], second["fan_out"]) == (0, 4 + 1)


def test_a_recurrent_fan_out_beyond_the_limit_is_an_error_naming_the_layer(tmp_path):
    with pytest.raises(ResourceError, match=r"layer 'lif': with its recurrent connection core \d+ .*fan_out_per_core"):
        map_graph(_recurrent(np.ones((8, 8))), _profile(tmp_path, neurons_per_core=2, fan_out_per_core=3))
