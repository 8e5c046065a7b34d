"""The per-layer quantization report: threshold rounding error, clipping and worst-case state range."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from latdeploy.hw.profile import load_profile
from latdeploy.ir import LIF, Dense, DenseInt, Graph, SpikeInput
from latdeploy.passes.quantize import on_grid, quantize
from latdeploy.passes.range_analysis import static_bounds
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.sim.float_sim import simulate_float

PROFILE = load_profile("loihi2")


def _graph(weight: np.ndarray, threshold: float, bias: np.ndarray | None = None) -> Graph:
    n_out, n_in = weight.shape
    return Graph(
        (
            SpikeInput("input", (), neurons=n_in),
            Dense("dense", ("input",), weight=weight),
            LIF("lif", ("dense",), threshold=threshold, bias=np.zeros(n_out) if bias is None else bias),
        ),
        {"timesteps": 5},
    )


@given(threshold=st.floats(0.01, 50.0), seed=st.integers(0, 1000))
def test_threshold_rounding_error_is_the_gap_to_the_integer_firing_threshold(threshold, seed):
    rng = np.random.default_rng(seed)
    graph = _graph(rng.normal(0, 0.3, (3, 6)).astype(np.float32), threshold)
    _, (layer,) = quantize(graph, PROFILE, np.zeros((1, 5, 6), np.uint8))
    scaled = layer.threshold_scaled
    # Loihi fires on v > vth << 6, i.e. on integer membranes >= vth + 1 = ceil(theta * scale)
    assert layer.vth + 1 == max(math.ceil(scaled), 1)
    assert layer.threshold_rounding_error == pytest.approx(layer.vth + 1 - scaled)
    assert 0.0 <= layer.threshold_rounding_error < 1.0 or scaled < 1.0
    assert layer.threshold_relative_error == pytest.approx(layer.threshold_rounding_error / scaled)


def test_integer_threshold_on_the_boundary_fires_exactly_when_float_does():
    # weights 127/128 with scale 256 -> integer 254; two inputs reach exactly the threshold 254/128
    weight = np.array([[127, 127, -3]], np.float32) / 128
    graph = _graph(weight, threshold=254 / 128)
    spikes = np.zeros((3, 5, 3), np.uint8)
    spikes[0, 0, :2] = 1  # exactly the threshold: fires in torch (>=) and on Loihi
    spikes[1, 0, 0] = 1  # half of it: no spike
    spikes[2, 0, :3] = 1  # 3/128 below it: no spike
    int_graph, (layer,) = quantize(graph, PROFILE, spikes)
    assert layer.threshold_rounding_error == 0.0 and layer.vth == 507
    fired_float = simulate_float(graph, spikes).output().spikes[:, 0, 0]
    fired_fixed = simulate_fixed(int_graph, spikes).output().spikes[:, 0, 0]
    assert fired_float.tolist() == fired_fixed.tolist() == [1, 0, 0]


def test_report_carries_clipping_and_the_static_state_range():
    weight = np.linspace(-1.0, 1.0, 40, dtype=np.float32).reshape(4, 10)
    weight[0, 0] = 30.0  # an outlier that a lower clipping point cuts
    graph = _graph(weight, threshold=2.0)
    spikes = (np.random.default_rng(1).random((16, 5, 10)) < 0.5).astype(np.uint8)
    int_graph, (layer,) = quantize(graph, PROFILE, spikes)
    assert layer.weights_clipped == round(layer.weights_clipped_pct * weight.size / 100)
    assert layer.state_range == static_bounds(int_graph, PROFILE)["lif"]
    assert layer.state_range["u_overflow_neurons"] == 0 and layer.state_range["neurons"] == 4


def test_report_says_scales_are_per_layer_and_whether_the_profile_could_do_per_channel():
    graph = _graph(np.array([[0.5, -0.25, 1.0]], np.float32), threshold=1.0)
    _, (layer,) = quantize(graph, PROFILE, np.zeros((1, 5, 3), np.uint8))
    assert layer.extra["scale_granularity"] == "per-layer"
    assert layer.extra["per_channel_scales_available"] is PROFILE["quantization.per_channel_scales"] is False


def test_on_grid_recognises_weights_that_are_integers_over_the_scale():
    units = np.array([[127, -3, 64]])
    dense = Dense("dense", ("input",), weight=units / 128.0)
    integer = DenseInt("dense", ("input",), weight=units * 2)
    assert on_grid(dense, integer, 256.0)
    assert not on_grid(dense.replace(weight=dense.weight + np.float32(0.001)), integer, 256.0)
    assert not on_grid(dense, integer.replace(weight_exp=-1), 256.0)
