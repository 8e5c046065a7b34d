"""The compiled kernels against a plain numpy transcription of Lava's fixed_pt models.

The reference below is the vectorised numpy simulator that was checked against real
Lava runs (tests/backends/lava/test_runner.py); here the kernels must equal it on
random parameters over their full hardware ranges and on inputs that overflow.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from latdeploy.sim.fixed import lava_weights
from latdeploy.sim.kernels import (
    BLOCK,
    STATE_LIMIT,
    conv_accumulate,
    delay_dense_accumulate,
    dense_accumulate,
    dense_events_kernel,
    lif_int_kernel,
    shift_wrap_kernel,
)

INT32 = st.integers(-(1 << 31), (1 << 31) - 1)
CURRENTS = st.one_of(
    st.integers(-300, 300),
    st.integers(-(1 << 18), 1 << 18),  # around the 24-bit wrap of a << 6
    st.sampled_from([(1 << 17) - 1, 1 << 17, (1 << 17) + 1, -(1 << 17), -(1 << 17) - 1, (1 << 25), -(1 << 25)]),
    INT32,  # a << 6 wraps in int32
)


def _decay_reference(state: np.ndarray, factor: int) -> np.ndarray:
    product = state.astype(np.int64) * factor
    return (np.sign(product) * np.right_shift(np.abs(product), 12)).astype(np.int32)


def _lif_reference(current, du, dv, vth, bias_mant, bias_exp):
    """Lava's LIF fixed_pt step, vectorised over samples x neurons with numpy int32 arithmetic."""
    batch, steps, size = current.shape
    u = np.zeros((batch, size), np.int32)
    v = np.zeros((batch, size), np.int32)
    bias = np.left_shift(bias_mant.astype(np.int32), np.int32(bias_exp))
    limit, double = np.int32(STATE_LIMIT), np.int32(2 * STATE_LIMIT)
    out = {key: np.empty((batch, steps, size), np.int32) for key in ("v_pre", "u", "v")}
    spikes = np.empty((batch, steps, size), np.uint8)
    wraps = saturations = 0
    for step in range(steps):
        summed = _decay_reference(u, 4096 - (du + 1)) + np.left_shift(current[:, step], np.int32(6))
        high, low = summed > limit, summed <= -limit
        u = np.where(high, summed - double, np.where(low, summed + double, summed))
        wraps += int(high.sum() + low.sum())
        updated = _decay_reference(v, 4096 - dv) + u + bias
        v = np.clip(updated, -limit + 1, limit - 1)
        saturations += int((v != updated).sum())
        fired = v > (vth << 6)
        out["v_pre"][:, step] = v
        v = np.where(fired, np.int32(0), v)
        spikes[:, step] = fired
        out["u"][:, step] = u
        out["v"][:, step] = v
    return spikes, out["v_pre"], out["u"], out["v"], wraps, saturations


def _dense_reference(spikes, weight, weight_exp):
    accumulated = (spikes.astype(np.float64) @ weight.T.astype(np.float64)).astype(np.int64)
    if weight_exp > 0:
        accumulated = np.left_shift(accumulated, weight_exp)
    else:
        accumulated = np.right_shift(accumulated, -weight_exp)
    return accumulated.astype(np.int32)


@st.composite
def lif_cases(draw):
    batch = draw(st.integers(1, 3))
    steps = draw(st.integers(1, 6))
    size = draw(st.one_of(st.integers(1, 5), st.integers(BLOCK - 1, 2 * BLOCK + 1)))
    current = draw(arrays(np.int32, (batch, steps, size), elements=CURRENTS))
    return dict(
        current=current,
        du=draw(st.one_of(st.sampled_from([-1, 4095]), st.integers(-1, 4095))),  # -1: netx's iDecay 0
        dv=draw(st.one_of(st.sampled_from([0, 4096]), st.integers(0, 4096))),
        vth=draw(st.one_of(st.integers(0, 300), st.integers(0, (1 << 17) - 1), st.just(1 << 17))),
        bias_mant=draw(arrays(np.int32, size, elements=st.integers(-4096, 4095))),
        bias_exp=draw(st.integers(0, 7)),
    )


def _lif_kernel(case, parallel=None):
    bias = np.left_shift(case["bias_mant"].astype(np.int32), np.int32(case["bias_exp"])).astype(np.int64)
    decays = (4096 - (case["du"] + 1), 4096 - case["dv"])
    return lif_int_kernel(case["current"], *decays, case["vth"] << 6, bias, parallel)


@settings(max_examples=300)
@given(lif_cases(), st.sampled_from([None, True, False]))
def test_lif_kernel_equals_numpy_reference(case, parallel):
    """On one thread and in parallel (sample, block of neurons) tasks alike."""
    expected = _lif_reference(**case)
    got = _lif_kernel(case, parallel)
    for name, want, have in zip(("spikes", "v_pre", "u", "v"), expected[:4], got[:4], strict=True):
        assert have.dtype == want.dtype, name
        assert np.array_equal(have, want), name
    assert (int(got[4]), int(got[5])) == expected[4:]


def test_lif_kernel_counts_wraps_and_saturations_in_every_parallel_task():
    """Overflow happens in several (sample, block) tasks at once: every one is counted."""
    current = np.full((3, 2, 2 * BLOCK + 3), 1 << 25, np.int32)
    case = dict(current=current, du=4095, dv=0, vth=1, bias_mant=np.full(current.shape[2], 4095), bias_exp=7)
    expected = _lif_reference(**case)
    assert expected[4] > 0 and expected[5] > 0
    for parallel in (True, False):
        got = _lif_kernel(case, parallel)
        assert (int(got[4]), int(got[5])) == expected[4:]


@st.composite
def dense_cases(draw):
    rows = draw(st.integers(1, 12))
    fan_in = draw(st.integers(1, 40))
    fan_out = draw(st.integers(1, 9))
    density = draw(st.sampled_from([0.0, 0.02, 0.3, 1.0]))
    graded = draw(st.booleans())
    mask = draw(arrays(np.float64, (rows, fan_in), elements=st.floats(0, 1))) < density
    if graded:
        payload = draw(arrays(np.int32, (rows, fan_in), elements=st.integers(-(1 << 23), (1 << 23) - 1)))
        spikes = np.where(mask, payload, 0).astype(np.int32)
    else:
        spikes = mask.astype(np.uint8)
    raw = draw(arrays(np.int32, (fan_out, fan_in), elements=st.integers(-256, 255)))
    weight = lava_weights(raw, draw(st.integers(1, 8)))
    return spikes, weight, draw(st.integers(-8, 7))


@settings(max_examples=200)
@given(dense_cases(), st.sampled_from([True, False]))
def test_dense_kernels_equal_numpy_reference_on_both_paths(case, parallel):
    spikes, weight, weight_exp = case
    expected = _dense_reference(spikes, weight, weight_exp)
    weight_t = np.ascontiguousarray(weight.T, dtype=np.int64)
    events = dense_events_kernel(spikes, weight_t, weight_exp, parallel=parallel)
    matrix = shift_wrap_kernel(spikes.astype(np.float64) @ weight.T.astype(np.float64), weight_exp, parallel)
    for got in (events, matrix, dense_accumulate(spikes, weight, weight_exp)):
        assert got.dtype == np.int32
        assert np.array_equal(got, expected)


def test_dense_wraps_to_int32_and_floors_negative_shifts():
    spikes = np.array([[1 << 23, 1 << 23, 0, 0], [1, 0, 1, 0]], np.int32)
    weight = np.array([[254, 254, 0, 0], [-3 * 2, 0, 2, 0]], np.int32)
    for weight_exp in (7, -1):
        expected = _dense_reference(spikes, weight, weight_exp)
        assert np.array_equal(dense_events_kernel(spikes, weight.T.astype(np.int64).copy(), weight_exp), expected)
    wide = (2 * 254 << 23) << 7
    wrapped = (wide + (1 << 31)) % (1 << 32) - (1 << 31)
    assert dense_events_kernel(spikes, weight.T.astype(np.int64).copy(), 7)[0, 0] == wrapped
    assert dense_events_kernel(spikes[1:], weight.T.astype(np.int64).copy(), -3)[0, 1] == -1  # floor(-4 / 8)


def _delay_dense_reference(spikes, weight, delay, weight_exp):
    """Lava's DelayDense: per delay value a product, shifted, added that many steps later; int32 wrap at the end."""
    batch, steps, fan_in = spikes.shape
    flat = spikes.reshape(-1, fan_in).astype(np.float64)
    total = np.zeros((batch, steps, weight.shape[0]), np.int64)
    for value in np.unique(delay):
        part = (flat @ np.where(delay == value, weight, 0).T.astype(np.float64)).astype(np.int64)
        part = part.reshape(batch, steps, -1)
        part = np.left_shift(part, weight_exp) if weight_exp > 0 else np.right_shift(part, -weight_exp)
        if value < steps:
            total[:, value:] += part[:, : steps - value]
    return total.astype(np.int32)


@st.composite
def delay_dense_cases(draw):
    batch = draw(st.integers(1, 3))
    steps = draw(st.integers(1, 8))
    fan_in = draw(st.integers(1, 12))
    fan_out = draw(st.one_of(st.integers(1, 6), st.integers(BLOCK - 1, BLOCK + 2)))
    density = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    mask = draw(arrays(np.float64, (batch, steps, fan_in), elements=st.floats(0, 1))) < density
    if draw(st.booleans()):
        payload = draw(arrays(np.int32, mask.shape, elements=st.integers(-(1 << 23), (1 << 23) - 1)))
        spikes = np.where(mask, payload, 0).astype(np.int32)
    else:
        spikes = mask.astype(np.uint8)
    raw = draw(arrays(np.int32, (fan_out, fan_in), elements=st.integers(-256, 255)))
    weight = lava_weights(raw, draw(st.integers(1, 8)))
    longest = draw(st.sampled_from([0, 3, 62]))
    layout = draw(st.sampled_from(["per synapse", "per output neuron", "per input"]))
    shape = {"per synapse": (fan_out, fan_in), "per output neuron": (fan_out, 1), "per input": (1, fan_in)}[layout]
    delay = np.broadcast_to(draw(arrays(np.int32, shape, elements=st.integers(0, longest))), (fan_out, fan_in))
    return spikes, weight, delay, draw(st.integers(-8, 7))


@settings(max_examples=200)
@given(delay_dense_cases())
def test_delay_dense_kernel_equals_numpy_reference(case):
    expected = _delay_dense_reference(*case)
    got = delay_dense_accumulate(*case)
    assert got.dtype == np.int32
    assert np.array_equal(got, expected)


@settings(max_examples=100)
@given(delay_dense_cases(), st.sampled_from([True, False]), st.sampled_from([np.int32, np.int64]))
def test_dense_event_kernel_with_axonal_delays_equals_numpy_reference(case, parallel, accumulator):
    """The fused path of one delay per output neuron, each sample a task or all on one thread."""
    spikes, weight, delay, weight_exp = case
    delays = np.broadcast_to(delay[:, :1], delay.shape)
    batch, steps, fan_in = spikes.shape
    expected = _delay_dense_reference(spikes, weight, delays, weight_exp)
    if accumulator is np.int32 and np.abs(spikes.astype(np.int64)).max(initial=0) * 256 * fan_in >= 1 << 31:
        accumulator = np.int64  # the caller's rule: int32 sums only where none can overflow
    weight_t = np.ascontiguousarray(weight.T, dtype=accumulator)
    flat = spikes.reshape(batch * steps, fan_in)
    got = dense_events_kernel(flat, weight_t, weight_exp, delays[:, 0], steps, parallel)
    assert got.dtype == np.int32
    assert np.array_equal(got.reshape(batch, steps, -1), expected)


def test_delay_dense_shifts_each_delay_group_before_summing():
    """Two inputs with different delays landing on one step are floored separately, as Lava's buffer does."""
    spikes = np.array([[[1, 0], [0, 1], [0, 0]]], np.uint8)
    weight = np.array([[-2, -2]], np.int32)
    delay = np.array([[2, 1]], np.int32)
    got = delay_dense_accumulate(spikes, weight, delay, -2)
    # each -2 >> 2 = -1 arrives at step 2: -2 (the shift of the sum, -4 >> 2, would give -1)
    assert got[0, :, 0].tolist() == [0, 0, -2]


def test_a_simulation_before_importing_lava_leaves_lava_importable():
    """numba's thread start must not fix multiprocessing's start method, which lava-nc sets on import."""
    script = (
        "import numpy as np\n"
        "from latdeploy.sim.kernels import lif_int_kernel\n"
        "lif_int_kernel(np.ones((2, 3, 70), np.int32), 0, 4096, 1, np.zeros(70, np.int64))\n"
        "import lava.magma.runtime.message_infrastructure.multiprocessing\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def _conv_reference(spikes, weight, groups, stride, padding):
    """torch's float64 convolution (exact for these integers), as Lava's scipy sum."""
    import torch
    import torch.nn.functional as F

    summed = F.conv2d(
        torch.from_numpy(spikes.astype(np.float64)),
        torch.from_numpy(weight.astype(np.float64)),
        stride=stride,
        padding=padding,
        groups=groups,
    )
    return summed.numpy().astype(np.int64)


@st.composite
def conv_cases(draw):
    groups = draw(st.sampled_from([1, 2]))
    in_channels = groups * draw(st.integers(1, 3))
    out_channels = groups * draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] - 1)), draw(st.integers(0, kernel[1] - 1)))
    height = draw(st.integers(kernel[0], 9))
    width = draw(st.integers(kernel[1], 9))
    rows = draw(st.integers(1, 3))
    density = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    mask = draw(arrays(np.float64, (rows, in_channels, height, width), elements=st.floats(0, 1))) < density
    top = draw(st.sampled_from([1, 15, (1 << 23) - 1]))  # binary, multi-threshold levels, wide graded payloads
    payload = draw(arrays(np.int32, mask.shape, elements=st.integers(1, top)))
    spikes = np.where(mask, payload, 0).astype(np.uint8 if top < 256 else np.int32)
    weight = draw(arrays(np.int32, (out_channels, in_channels // groups, *kernel), elements=st.integers(-256, 255)))
    return spikes, weight, groups, stride, padding


@settings(max_examples=200)
@given(conv_cases())
def test_conv_events_equal_exact_convolution(case):
    spikes, weight, groups, stride, padding = case
    expected = _conv_reference(spikes, weight, groups, stride, padding)
    got = conv_accumulate(spikes, weight, groups, stride, padding, expected.shape[2:])
    assert got.dtype == np.int64
    assert np.array_equal(got, expected)
