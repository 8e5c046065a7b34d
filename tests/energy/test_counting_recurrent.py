"""Energy counting of a recurrent layer: its own spikes are synapse events of its recurrent weights."""

from __future__ import annotations

import numpy as np

from latdeploy.energy.ann import ann_operations
from latdeploy.energy.counting import count_operations
from latdeploy.ir import DenseInt, Graph, LIFInt, RecurrentDenseInt, SpikeInput
from latdeploy.sim.fixed import simulate_fixed


def test_recurrent_synapse_events_count_like_any_synapse_by_hand():
    graph = Graph(
        (
            SpikeInput("input", (), neurons=1),
            DenseInt("dense", ("input",), weight=np.array([[254], [0]])),
            LIFInt("lif", ("dense",), du=4095, dv=4096, vth=1, bias_mant=np.zeros(2, np.int32)),
            RecurrentDenseInt("rec", ("lif",), weight=np.array([[0, 0], [254, 0]])),
        ),
        {"timesteps": 3},
    )
    spikes = np.zeros((1, 3, 1), np.uint8)
    spikes[0, 0, 0] = 1
    trace = simulate_fixed(graph, spikes)
    assert trace.output().spikes[0].tolist() == [[1, 0], [0, 1], [0, 0]]  # neuron 1 fires from the loop
    layer = count_operations(graph, spikes, trace, graph)["per_layer"][0]
    # feed-forward: 1 event x 1 non-zero weight; loop: neuron 0 (1 non-zero fan-out) at step 0 and
    # neuron 1 (no non-zero fan-out) at step 1; nothing at the last step
    assert layer["recurrent"] == "rec" and layer["recurrent_sops"] == 1
    assert layer["sops"] == 2 and layer["sops_dense"] == 2 + 2 * 2
    assert layer["input_events"] == 3
    assert layer["neuron_updates_active"] == 2  # neuron 0 at step 0 (input), neuron 1 at step 1 (loop)
    assert layer["spikes"] == 2
    assert ann_operations(graph)["lif"].macs == 2 + 4  # W x + W_rec h
