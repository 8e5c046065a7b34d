"""latdeploy's Xylo simulator (``sim/xylo_core.py``) equals SynSense's xylosim bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.backends.xylo.xylosim_run import run_xylosim, xylosim_version
from latdeploy.errors import QuantizationRangeError
from latdeploy.hw.arithmetic import XYLO
from latdeploy.sim.xylo_core import XyloCore, simulate_xylo_core

pytestmark = pytest.mark.usefixtures("xylosim_installed")

INT16 = (XYLO.v_min, XYLO.v_max)


@st.composite
def cores(draw: st.DrawFn, saturating: bool = False) -> tuple[XyloCore, np.ndarray]:
    """A random small core and input counts; ``saturating`` draws the largest weights, shifts and
    biases, thresholds down to 1 (31 spikes a step) and counts above the 4-bit input limit."""
    n_in, n_hidden, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 3))
    steps, batch = draw(st.integers(1, 10)), draw(st.integers(1, 2))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)

    def weights(*shape: int) -> np.ndarray:
        extreme = rng.choice([-128, 127], size=shape)
        values = np.where(rng.random(shape) < 0.5, extreme, rng.integers(-128, 128, shape)) if saturating else None
        values = rng.integers(-128, 128, shape) if values is None else values
        return np.where(rng.random(shape) < draw(st.floats(0.2, 1.0)), values, 0)

    shift_high = 7 if saturating else 3
    threshold_high = XYLO.vth_max if saturating else 400
    bias_range = INT16 if saturating and draw(st.booleans()) else (-30, 30)
    core = XyloCore(
        w_in=weights(n_in, n_hidden, 2),
        w_rec=weights(n_hidden, n_hidden, 2) if draw(st.booleans()) else np.zeros((n_hidden, n_hidden, 2), int),
        w_out=weights(n_hidden, n_out),
        weight_shift_in=draw(st.integers(0, shift_high)),
        weight_shift_rec=draw(st.integers(0, shift_high)),
        weight_shift_out=draw(st.integers(0, shift_high)),
        dash_syn=rng.integers(0, 16, (n_hidden, 2)),
        dash_mem=rng.integers(0, 16, n_hidden),
        threshold=rng.integers(1, threshold_high + 1, n_hidden),
        bias=rng.integers(bias_range[0], bias_range[1] + 1, n_hidden),
        dash_syn_out=rng.integers(0, 16, n_out),
        dash_mem_out=rng.integers(0, 16, n_out),
        threshold_out=rng.integers(1, threshold_high + 1, n_out),
        bias_out=rng.integers(bias_range[0], bias_range[1] + 1, n_out),
    )
    counts = rng.integers(0, 20 if saturating else 4, (batch, steps, n_in)) * (rng.random((batch, steps, n_in)) < 0.6)
    return core, counts


def assert_equal_to_xylosim(core: XyloCore, counts: np.ndarray) -> None:
    ours, theirs = simulate_xylo_core(core, counts).as_dict(), run_xylosim(core, counts).as_dict()
    for name, value in ours.items():
        np.testing.assert_array_equal(value, theirs[name], err_msg=f"{name} differs from xylosim")


@given(case=cores())
@settings(max_examples=150)
def test_random_small_cores_equal_xylosim_in_every_spike_and_state(case: tuple[XyloCore, np.ndarray]) -> None:
    assert_equal_to_xylosim(*case)


@given(case=cores(saturating=True))
@settings(max_examples=150)
def test_saturating_cores_equal_xylosim(case: tuple[XyloCore, np.ndarray]) -> None:
    core, counts = case
    assert_equal_to_xylosim(core, counts)


def test_the_corners_are_reached_and_equal_xylosim() -> None:
    """Isyn and Vmem at both 16-bit limits, -32768 with dash 0 (16-bit negation), 31 spikes a step,
    an input count above 15, a readout neuron limited to one spike."""
    core = XyloCore(
        w_in=np.array([[[127, -128], [-128, 0]], [[127, 127], [0, -128]]]),
        w_rec=np.array([[[0, 0], [127, 0]], [[0, 0], [0, 0]]]),
        w_out=np.array([[127], [-128]]),
        weight_shift_in=7,
        weight_shift_rec=7,
        weight_shift_out=7,
        dash_syn=np.array([[15, 15], [0, 15]]),
        dash_mem=np.array([15, 0]),
        threshold=np.array([1, XYLO.vth_max]),
        bias=np.array([XYLO.v_max, XYLO.v_min]),
        dash_syn_out=np.array([15]),
        dash_mem_out=np.array([15]),
        threshold_out=np.array([1]),
        bias_out=np.array([0]),
    )
    counts = np.array([[[20, 3], [0, 0], [15, 16], [1, 0]]])
    trace = simulate_xylo_core(core, counts)
    # recorded after the decay, which moves a saturated current one step toward zero
    assert trace.isyn.max() == XYLO.v_max - 1 and trace.isyn2.min() == XYLO.v_min + 1
    assert trace.vmem.min() == XYLO.v_min
    assert trace.spikes.max() == XYLO.max_spikes_per_step
    assert trace.spikes_out.max() == 1 and trace.vmem_out.max() > 1
    assert_equal_to_xylosim(core, counts)


def test_a_hidden_spike_reaches_readout_and_recurrent_targets_one_step_later() -> None:
    core = XyloCore(
        w_in=np.array([[[100, 0], [0, 0]]]),
        w_rec=np.array([[[0, 0], [50, 0]], [[0, 0], [0, 0]]]),
        w_out=np.array([[10], [0]]),
        weight_shift_in=0,
        weight_shift_rec=0,
        weight_shift_out=0,
        dash_syn=np.full((2, 2), 15),
        dash_mem=np.full(2, 15),
        threshold=np.array([90, 1000]),
        bias=np.zeros(2, int),
        dash_syn_out=np.array([15]),
        dash_mem_out=np.array([15]),
        threshold_out=np.array([1000]),
        bias_out=np.array([0]),
    )
    trace = simulate_xylo_core(core, np.array([[[1], [0], [0]]]))
    assert trace.spikes[0, 0, 0] == 1  # 100 - 1 = 99 >= 90 at step 0
    assert trace.isyn[0, :2, 1].tolist() == [0, 49]  # 50, decayed by 1, at step 1
    assert trace.isyn_out[0, :2, 0].tolist() == [0, 9]
    assert_equal_to_xylosim(core, np.array([[[1], [0], [0]]]))


def test_values_outside_xylo_registers_are_refused_naming_field_and_limit() -> None:
    with pytest.raises(QuantizationRangeError, match=r"'threshold' holds 0, outside Xylo's \[1, 32767\]"):
        XyloCore(
            w_in=np.zeros((1, 1, 2), int),
            w_rec=np.zeros((1, 1, 2), int),
            w_out=np.zeros((1, 1), int),
            weight_shift_in=0,
            weight_shift_rec=0,
            weight_shift_out=0,
            dash_syn=np.zeros((1, 2), int),
            dash_mem=np.zeros(1, int),
            threshold=np.zeros(1, int),
            bias=np.zeros(1, int),
            dash_syn_out=np.zeros(1, int),
            dash_mem_out=np.zeros(1, int),
            threshold_out=np.ones(1, int),
            bias_out=np.zeros(1, int),
        )


def test_the_xylosim_version_is_the_one_the_arithmetic_was_measured_on() -> None:
    assert xylosim_version() == "0.1.3"
