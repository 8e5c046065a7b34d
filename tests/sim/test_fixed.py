"""The fixed-point simulator against hand-computed Loihi arithmetic and Lava's own weight rules."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from lava.utils.weightutils import clip_weights, determine_sign_mode, truncate_weights

from latdeploy.ir import DenseInt, LIFInt
from latdeploy.sim.fixed import dense_int, lava_weights
from latdeploy.sim.kernels_neurons import neuron_int_compiled


@given(
    weight=arrays(np.int32, st.tuples(st.integers(1, 5), st.integers(1, 5)), elements=st.integers(-256, 255)),
    bits=st.integers(1, 8),
)
def test_weights_follow_lava_clip_and_truncate(weight, bits):
    sign_mode = determine_sign_mode(weight)
    expected = truncate_weights(clip_weights(weight, sign_mode, num_bits=8), sign_mode, bits)
    assert np.array_equal(lava_weights(weight, bits), expected)


def _neuron(**fields):
    fields.setdefault("bias_mant", np.zeros(1, np.int32))
    return LIFInt("n", ("d",), **fields)


def _run(neuron, currents):
    return neuron_int_compiled(neuron, np.array(currents, np.int32).reshape(1, -1, 1))


def test_current_decay_rounds_toward_zero_with_the_plus_one_offset():
    trace, _ = _run(_neuron(du=1000, dv=0, vth=100000), [-3, 0])
    # -3 << 6 = -192; -192 * (4096 - 1001) / 4096 = -145.07 -> -145 (floor would give -146)
    assert trace.u[0, :, 0].tolist() == [-192, -145]


def test_voltage_decay_has_no_offset_and_truncates():
    trace, _ = _run(_neuron(du=4095, dv=1, vth=100000), [1, 0])
    # v = 64, then 64 * 4095 / 4096 = 63.98 -> 63
    assert trace.v[0, :, 0].tolist() == [64, 63]


def test_strictly_greater_threshold_and_reset_to_zero():
    trace, _ = _run(_neuron(du=4095, dv=0, vth=2), [2, 0, 1, 0])
    # v: 128 (== 2 << 6, no spike), 128, 192 (> 128: spike, reset), 0
    assert trace.spikes[0, :, 0].tolist() == [0, 0, 1, 0]
    assert trace.v_pre[0, :, 0].tolist() == [128, 128, 192, 0]
    assert trace.v[0, :, 0].tolist() == [128, 128, 0, 0]


def test_u_wraps_once_at_24_bits_and_v_saturates():
    trace, overflow = _run(_neuron(du=4095, dv=0, vth=131071), [1 << 17, (1 << 17) + 1, -(1 << 17)])
    assert trace.u[0, :, 0].tolist() == [1 << 23, (1 << 23) + 64 - (1 << 24), -(1 << 23) + (1 << 24)]
    assert overflow == {"u_wraps": 2, "v_saturations": 1}
    assert trace.v_pre[0, 0, 0] == (1 << 23) - 1  # saturated, then fired (> vth << 6) and reset
    assert trace.spikes[0, 0, 0] == 1 and trace.v[0, 0, 0] == 0


def test_dense_shifts_floor_for_negative_exponents_and_wraps_to_int32():
    weight = np.array([[-3, 1]], np.int32)  # mixed sign: truncated to even values -4, 0
    spikes = np.array([[[1, 1]]], np.uint8)
    assert dense_int(DenseInt("d", ("i",), weight=weight, weight_exp=-1), spikes).item() == -2
    assert dense_int(DenseInt("d", ("i",), weight=np.array([[-3, -1]]), weight_exp=-1), spikes).item() == -2
    assert dense_int(DenseInt("d", ("i",), weight=np.array([[-3, -2]]), weight_exp=-2), spikes).item() == -2
    assert dense_int(DenseInt("d", ("i",), weight=np.array([[5, 0]]), weight_exp=3), spikes).item() == 40
