"""Fixed-point kernels of the extra neurons: hand-checked steps and agreement with the stock LIF kernel."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.ir import LIFInt
from latdeploy.ir.neurons_ext import MultiThresholdLIFInt, SoftResetLIFInt, TTFSInt
from latdeploy.sim.fixed_neurons import neuron_int
from latdeploy.sim.kernels_neurons import neuron_int_compiled


def test_ttfs_fires_once_and_holds_v_at_zero():
    node = TTFSInt("n", (), vth=2, bias_mant=np.zeros(1, np.int32))
    trace, _ = neuron_int(node, np.array([[[3], [3], [3]]], np.int32))
    assert trace.spikes.flatten().tolist() == [1, 0, 0]
    assert trace.v_pre.flatten().tolist() == [192, 0, 0]
    assert trace.u.flatten().tolist() == [192, 192, 192]


def test_soft_reset_keeps_the_remainder_and_compares_greater_or_equal():
    node = SoftResetLIFInt("n", (), vth=2, bias_mant=np.zeros(1, np.int32))
    trace, _ = neuron_int(node, np.array([[[3], [1], [0], [2]]], np.int32))
    assert trace.spikes.flatten().tolist() == [1, 1, 0, 1]
    assert trace.v.flatten().tolist() == [64, 0, 0, 0]


@settings(max_examples=40)
@given(
    seed=st.integers(0, 2**31 - 1),
    du=st.integers(0, 4095),
    dv=st.integers(0, 4095),
    bias_exp=st.integers(0, 7),
    big=st.booleans(),
)
def test_subthreshold_dynamics_equal_stock_lif_including_overflow(seed, du, dv, bias_exp, big):
    """With a threshold never reached, every kind integrates exactly as Lava's LIF (wraps and saturation too)."""
    rng = np.random.default_rng(seed)
    currents = rng.integers(-(1 << 20) if big else -300, (1 << 20) if big else 300, (2, 6, 5)).astype(np.int32)
    bias = rng.integers(-4096, 4096, 5)
    reference, reference_overflow = neuron_int_compiled(
        LIFInt("n", (), du=du, dv=dv, vth=(1 << 17) - 1, bias_mant=bias, bias_exp=bias_exp), currents
    )
    unreachable = (1 << 17) - 1
    for node in (
        SoftResetLIFInt("n", (), du=du, dv=dv, vth=unreachable, bias_mant=bias, bias_exp=bias_exp),
        TTFSInt("n", (), du=du, dv=dv, vth=unreachable, bias_mant=bias, bias_exp=bias_exp),
        MultiThresholdLIFInt("n", (), du=du, dv=dv, vth=unreachable, levels=1, bias_mant=bias, bias_exp=bias_exp),
    ):
        trace, overflow = neuron_int(node, currents)
        assert np.array_equal(trace.u, reference.u)
        assert overflow["u_wraps"] == reference_overflow["u_wraps"]
        if not big:  # small currents never reach the threshold: v is the stock LIF's too
            assert not trace.spikes.any() and not reference.spikes.any()
            assert np.array_equal(trace.v, reference.v) and overflow == reference_overflow


@settings(max_examples=40)
@given(seed=st.integers(0, 2**31 - 1), vth=st.integers(1, 50), bias_exp=st.just(6))
def test_one_level_zero_reset_equals_stock_lif_on_the_64_grid(seed, vth, bias_exp):
    """With du = 4095, dv = 0, bias_exp = 6, v stays on multiples of 64, where ``v >= vth << 6``
    is Loihi's ``v > (vth - 1) << 6``: a one-level multi-threshold neuron is the stock LIF."""
    rng = np.random.default_rng(seed)
    currents = rng.integers(-40, 80, (3, 7, 6)).astype(np.int32)
    bias = rng.integers(-30, 30, 6)
    reference, _ = neuron_int_compiled(
        LIFInt("n", (), du=4095, dv=0, vth=vth - 1, bias_mant=bias, bias_exp=bias_exp), currents
    )
    node = MultiThresholdLIFInt("n", (), du=4095, dv=0, vth=vth, levels=1, bias_mant=bias, bias_exp=bias_exp)
    trace, _ = neuron_int(node, currents)
    assert np.array_equal(trace.spikes, reference.spikes)
    assert np.array_equal(trace.v, reference.v)


@settings(max_examples=40)
@given(seed=st.integers(0, 2**31 - 1), levels=st.integers(1, 9), reset=st.sampled_from(["zero", "subtract"]))
def test_levels_count_thresholds_crossed(seed, levels, reset):
    rng = np.random.default_rng(seed)
    node = MultiThresholdLIFInt("n", (), vth=7, levels=levels, reset=reset, bias_mant=rng.integers(-9, 9, 4))
    trace, _ = neuron_int(node, rng.integers(-20, 60, (2, 5, 4)).astype(np.int32))
    theta = 7 << 6
    expected = sum((trace.v_pre >= k * theta).astype(int) for k in range(1, levels + 1))
    assert np.array_equal(trace.spikes, expected)
    assert trace.spikes.max() <= levels
    if reset == "subtract":
        assert np.array_equal(trace.v, trace.v_pre - trace.spikes.astype(np.int32) * theta)
