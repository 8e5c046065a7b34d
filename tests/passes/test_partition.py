from __future__ import annotations

import numpy as np

from latdeploy.ir import LIF, Dense, Graph, SpikeInput
from latdeploy.passes.partition import split_host_chip
from tests.conftest import int_graph


def test_spiking_chain_runs_on_chip_and_encoder_on_host():
    graph = int_graph(np.random.default_rng(0), (4, 3, 2), timesteps=3)
    graph = graph.replace_nodes(list(graph.nodes), encoder={"kind": "latency"}, decoder="first_spike")
    split = split_host_chip(graph)
    assert split.host == ["input"] and split.chip == ["dense1", "lif1", "dense2", "lif2"]
    assert split.to_chip == ["input"] and split.to_host == ["lif2"]
    assert split.host_operations == ["encoder: latency", "read-out: first_spike"]
    assert split.as_dict()["chip"] == split.chip


def test_a_synapse_chain_runs_on_chip_as_one_fused_synapse():
    nodes = [
        SpikeInput("in", (), neurons=3),
        Dense("d1", ("in",), weight=np.ones((3, 3))),
        Dense("d2", ("d1",), weight=np.ones((2, 3))),
        LIF("l", ("d2",), bias=np.zeros(2)),
    ]
    split = split_host_chip(Graph(tuple(nodes), {"timesteps": 2}))
    assert split.chip == ["d1", "d2", "l"] and split.host == ["in"]
    assert split.to_host == ["l"]
