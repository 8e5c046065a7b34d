from __future__ import annotations

import numpy as np
import pytest

from latdeploy.energy.counting import energy_report
from latdeploy.hw.profile import load_profile
from latdeploy.ir import DenseInt, Graph, LIFInt, SpikeInput
from latdeploy.sim.fixed import simulate_fixed


def test_sops_updates_spikes_and_joules_by_hand():
    graph = Graph(
        (
            SpikeInput("input", (), neurons=3),
            DenseInt("dense1", ("input",), weight=np.array([[2, 0, 4], [0, 0, 6]])),
            LIFInt("lif1", ("dense1",), vth=3, bias_mant=np.zeros(2, np.int32)),
        ),
        {"timesteps": 2},
    )
    spikes = np.zeros((2, 2, 3), np.uint8)
    spikes[0, 0, [0, 2]] = 1  # fan-outs 1 and 2 -> 3 SOPs; both neurons get input
    spikes[1, 1, 1] = 1  # input 1 has no non-zero weight -> 0 SOPs, no input
    trace = simulate_fixed(graph, spikes)
    profile = load_profile("loihi2")
    report = energy_report(graph, spikes, trace, profile)
    layer = report["per_layer"][0]
    assert layer["sops"] == 3 / 2
    assert layer["neuron_updates"] == 4 and layer["neuron_updates_active"] == 2 / 2
    spike_count = int(trace.output().spikes.sum())
    assert spike_count == 2  # a = 6 for both neurons: 384 > 3 << 6
    energy = profile.values["energy"]
    expected = (
        3 * energy["synaptic_op_j"]
        + 2 * energy["neuron_update_active_j"]
        + 6 * energy["neuron_update_idle_j"]
        + 2 * energy["spike_j"]
    ) / 2
    assert report["energy_j"] == pytest.approx(expected)
    assert report["ann_equivalent"]["macs"] == 6
    assert report["ann_equivalent"]["energy_j"] == pytest.approx(6 * 4.6e-12)
