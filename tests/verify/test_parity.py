from __future__ import annotations

import numpy as np

from latdeploy.nn.decoders import FirstSpikeDecision
from latdeploy.sim.trace import LayerTrace, Trace
from latdeploy.verify.parity import compare, first_divergence, first_spike_shifts, latency_summary


def _trace(a, b):
    return Trace({"l1": LayerTrace(a, np.zeros(a.shape)), "l2": LayerTrace(b, np.zeros(b.shape))})


def test_compare_counts_slots_and_finds_the_first_divergence_in_causal_order():
    a = np.zeros((2, 4, 3), np.uint8)
    b = np.zeros((2, 4, 2), np.uint8)
    other_a, other_b = a.copy(), b.copy()
    other_a[1, 0, 2] = 1
    other_a[0, 3, 0] = 1
    other_b[0, 1, 1] = 1
    result = compare(_trace(a, b), _trace(other_a, other_b))
    assert result["compared"] == 2 * 4 * 3 + 2 * 4 * 2
    assert result["mismatches"] == 3
    assert result["first_divergence"] == {"sample": 0, "step": 1, "layer": "l2", "neuron": 1}
    assert first_divergence(a, a) is None
    assert first_divergence(a, other_a) == {"sample": 0, "step": 3, "neuron": 0}


def test_first_spike_shift_histogram_counts_pairs_and_lone_spikes():
    reference = np.zeros((1, 5, 4), np.uint8)
    candidate = reference.copy()
    reference[0, 1, 0] = candidate[0, 3, 0] = 1  # +2
    reference[0, 2, 1] = candidate[0, 2, 1] = 1  # 0
    reference[0, 4, 1] = 1  # a later spike does not change the first
    reference[0, 0, 2] = 1  # only reference
    candidate[0, 1, 3] = 1  # only candidate
    shifts = first_spike_shifts(reference, candidate)
    assert shifts["histogram"] == {"0": 1, "2": 1}
    assert (shifts["both_fired"], shifts["only_reference"], shifts["only_candidate"]) == (2, 1, 1)
    assert shifts["mean_abs_shift"] == 1.0


def test_latency_is_over_decided_samples_and_hardware_adds_the_lag():
    decision = FirstSpikeDecision(
        label=np.zeros(5, int), step=np.array([0, 2, 4, 8, 2]), decided=np.array([True, True, True, False, True])
    )
    latency = latency_summary(decision, lag=2, timesteps=8)
    assert latency["histogram"] == [1, 0, 2, 0, 1, 0, 0, 0]
    assert latency["mean_step"] == 2.0 and latency["undecided"] == 1
    assert latency["percentiles"]["p50"] == 2.0
    assert latency["hardware"]["mean_step"] == 4.0 and latency["hardware"]["percentiles"]["p50"] == 4.0
