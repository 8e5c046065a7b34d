from __future__ import annotations

import numpy as np

from latdeploy.nn import first_spike_decision


def test_earliest_spike_wins_and_ties_go_to_higher_membrane():
    spikes = np.zeros((3, 4, 3), np.uint8)
    v_pre = np.zeros((3, 4, 3))
    spikes[0, 2, 1] = 1  # sample 0: class 1 first, at step 2
    spikes[0, 3, 0] = 1
    spikes[1, 1, [0, 2]] = 1  # sample 1: tie at step 1, class 2 has the higher membrane
    v_pre[1, 1] = [1.2, 0.3, 1.7]
    v_pre[2, 3] = [0.1, 0.9, 0.4]  # sample 2: nothing fires -> highest final membrane, undecided
    decision = first_spike_decision(spikes, v_pre)
    assert decision.label.tolist() == [1, 2, 1]
    assert decision.step.tolist() == [2, 1, 4]
    assert decision.decided.tolist() == [True, True, False]


def test_tie_break_ignores_non_firing_neurons_with_higher_membrane():
    spikes = np.zeros((1, 2, 3), np.uint8)
    v_pre = np.zeros((1, 2, 3))
    spikes[0, 0, 0] = 1
    v_pre[0, 0] = [1.0, 5.0, 0.0]  # class 1 has a higher membrane but did not fire
    assert first_spike_decision(spikes, v_pre).label.tolist() == [0]
