from __future__ import annotations

import numpy as np
import pytest
import torch

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


def test_first_spike_tie_break_picks_the_higher_membrane_either_way():
    spikes = np.zeros((2, 3, 2), np.uint8)
    spikes[:, 1, :] = 1
    v_pre = np.zeros((2, 3, 2))
    v_pre[0, 1] = [2.0, 1.5]
    v_pre[1, 1] = [1.5, 2.0]
    assert first_spike_decision(spikes, v_pre).label.tolist() == [0, 1]


def test_temporal_decoder_favours_earlier_spikes_and_mean_decoder_does_not():
    from latdeploy.nn.decoders import aggregate_decision, aggregate_scores

    spikes = np.zeros((1, 4, 2))
    spikes[0, 0, 0] = 1  # class 0: one spike at step 0
    spikes[0, 2:4, 1] = 1  # class 1: two late spikes
    v_pre = np.zeros((1, 4, 2))
    temporal = aggregate_decision(spikes, v_pre, "temporal")
    # temporal scores: class 0 -> 1.0, class 1 -> 0.5 + 0.25 = 0.75
    assert temporal.label.tolist() == [0] and temporal.step.tolist() == [0] and temporal.decided.all()
    mean = aggregate_decision(spikes, v_pre, "mean")
    assert mean.label.tolist() == [1] and mean.step.tolist() == [3]
    scores = aggregate_scores(torch.tensor(spikes).permute(1, 0, 2), "temporal")
    assert scores.tolist() == [[1.0, 0.75]]
    # the same spike counts an earlier step more
    early, late = np.zeros((1, 4, 1)), np.zeros((1, 4, 1))
    early[0, 1, 0], late[0, 2, 0] = 1, 1
    assert aggregate_scores(torch.tensor(early).permute(1, 0, 2), "temporal") > aggregate_scores(
        torch.tensor(late).permute(1, 0, 2), "temporal"
    )


def test_aggregate_decision_ties_silence_and_unknown_decoder():
    from latdeploy.nn.decoders import aggregate_decision, decide

    spikes = np.zeros((2, 3, 3))
    spikes[0, 1, [0, 2]] = 1  # tie on score: class 2 has the higher membrane at its spike
    v_pre = np.zeros((2, 3, 3))
    v_pre[0, 1] = [1.1, 0.0, 1.4]
    v_pre[1, 2] = [0.2, 0.7, 0.1]  # sample 1: silent -> highest final membrane, undecided
    decision = aggregate_decision(spikes, v_pre, "temporal")
    assert decision.label.tolist() == [2, 1]
    assert decision.step.tolist() == [1, 3] and decision.decided.tolist() == [True, False]
    with pytest.raises(ValueError, match="unknown decoder"):
        decide(spikes, v_pre, "vote")
