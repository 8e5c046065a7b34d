"""Range analysis: the static bound is sound (data never leaves it), overflow on data is an error
with counts unless allowed, a static-only risk is a warning."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from latdeploy.errors import QuantizationRangeError
from latdeploy.hw.profile import load_profile
from latdeploy.ir import DenseInt, Graph, LIFInt, SpikeInput
from latdeploy.passes.range_analysis import check_ranges, range_report, static_bounds

PROFILE = load_profile("loihi2")


def _graph(weight: np.ndarray, weight_exp: int = 0, **neuron) -> Graph:
    n_out, n_in = weight.shape
    return Graph(
        (
            SpikeInput("input", (), neurons=n_in),
            DenseInt("dense", ("input",), weight=weight, weight_exp=weight_exp),
            LIFInt("lif", ("dense",), bias_mant=neuron.pop("bias_mant", np.zeros(n_out, np.int32)), **neuron),
        ),
        {"timesteps": 6},
    )


@given(
    seed=st.integers(0, 2**16),
    weight_exp=st.integers(-8, 7),
    du=st.sampled_from([0, 1, 100, 2048, 4094, 4095]),
    dv=st.sampled_from([0, 1, 300, 4095]),
    vth=st.sampled_from([1, 100, 5000, 2**17 - 1]),
    bias=st.integers(-4096, 4095),
    bias_exp=st.integers(0, 7),
    density=st.floats(0.0, 1.0),
)
def test_states_on_data_stay_inside_the_static_bound_and_overflow_is_never_missed(
    seed, weight_exp, du, dv, vth, bias, bias_exp, density
):
    rng = np.random.default_rng(seed)
    weight = rng.integers(-256, 255, (4, 12)) // 2 * 2
    spikes = (rng.random((5, 6, 12)) < density).astype(np.uint8)
    graph = _graph(weight, weight_exp, du=du, dv=dv, vth=vth, bias_mant=np.full(4, bias), bias_exp=bias_exp)
    (entry,) = range_report(graph, PROFILE, spikes)
    bound, seen = entry["static"], entry["calibration"]
    if entry["overflows_on_data"]:
        assert entry["can_overflow"]
    else:
        assert seen["u_max_abs"] <= bound["u_max_abs"]
    if not entry["can_overflow"]:
        assert entry["overflows_on_data"] == 0


def test_overflow_on_data_is_an_error_with_counts_unless_allowed():
    weight = np.full((2, 64), 254)
    graph = _graph(weight, weight_exp=7, vth=2**17 - 1)
    spikes = np.ones((3, 6, 64), np.uint8)  # 64 x 254 << 7 << 6 per step: u wraps at once
    report = range_report(graph, PROFILE, spikes)
    assert report[0]["calibration"]["u_wraps"] > 0 and report[0]["can_overflow"]
    with pytest.raises(
        QuantizationRangeError, match=r"layer 'lif': \d+ u wraps and \d+ v saturations .* 3 calibration"
    ):
        check_ranges(report)
    warnings = check_ranges(report, allow_overflow=True)
    assert any("allowed by --allow-overflow" in line for line in warnings)


def test_a_static_only_risk_is_a_warning_not_an_error():
    graph = _graph(np.full((2, 64), 254), weight_exp=7, vth=2**17 - 1)
    report = range_report(graph, PROFILE, np.zeros((2, 6, 64), np.uint8))
    assert report[0]["overflows_on_data"] == 0 and report[0]["can_overflow"]
    (warning,) = check_ranges(report)
    assert "can overflow in the static worst case: 2 of 2 neurons' u" in warning


def test_static_bound_of_integrate_and_fire_is_exact_arithmetic():
    weight = np.array([[10, -4, 6], [0, 2, 0]])
    bounds = static_bounds(_graph(weight, du=4095, dv=0, vth=7), PROFILE)["lif"]
    # A+ = 16, A- = 4 per step; du = 4095 keeps no current: |u| <= 16 << 6; T = 6 steps of IF for v-
    assert bounds["input_max_per_step"] == 16 and bounds["u_max_abs"] == 16 << 6
    assert bounds["v_pre_max"] == (7 << 6) + (16 << 6) and bounds["v_min"] == -6 * (4 << 6)
