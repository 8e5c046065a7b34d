from __future__ import annotations

import numpy as np

from latdeploy.sim.trace import LayerTrace, Trace
from latdeploy.verify.parity import compare, first_divergence


def _trace(a, b):
    return Trace({"l1": LayerTrace(a, np.zeros(a.shape)), "l2": LayerTrace(b, np.zeros(b.shape))})


def test_compare_counts_slots_and_finds_the_first_divergence_in_time_order():
    a = np.zeros((2, 4, 3), np.uint8)
    b = np.zeros((2, 4, 2), np.uint8)
    other_a, other_b = a.copy(), b.copy()
    other_a[1, 0, 2] = 1
    other_a[0, 3, 0] = 1
    other_b[0, 1, 1] = 1
    result = compare(_trace(a, b), _trace(other_a, other_b))
    assert result["compared"] == 2 * 4 * 3 + 2 * 4 * 2
    assert result["mismatches"] == 3
    assert result["first_divergence"] == {"layer": "l1", "sample": 0, "step": 3, "neuron": 0}
    assert first_divergence(a, a) is None
