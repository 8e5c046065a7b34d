"""QuantizeForProfile: exact threshold semantics, calibration, range errors, no mutation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import latdeploy
from latdeploy.data import DIGITS, load_split
from latdeploy.errors import QuantizationRangeError
from latdeploy.flows.prepare import encode
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.profile import load_profile
from latdeploy.ir import LIF, Dense, Graph, SpikeInput
from latdeploy.passes.quantize import quantize
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.sim.float_sim import simulate_float

PROFILE = load_profile("loihi2")


def _grid_graph(units: np.ndarray, threshold_units: int, bias_units: np.ndarray) -> Graph:
    """Weights m/128 (|m| <= 127, one of them 127), threshold j/128, bias k/256: all exact in float32,
    and on Loihi's 8-bit mixed-sign grid with scale 256."""
    n_out, n_in = units.shape
    return Graph(
        (
            SpikeInput("input", (), neurons=n_in),
            Dense("dense1", ("input",), weight=units / 128.0),
            LIF("lif1", ("dense1",), threshold=threshold_units / 128.0, bias=bias_units / 256.0),
        ),
        {"timesteps": 6},
    )


@given(
    data=st.data(),
    n_in=st.integers(2, 6),
    n_out=st.integers(1, 4),
    threshold_units=st.integers(1, 300),
)
@example(data=None, n_in=3, n_out=1, threshold_units=254)
def test_threshold_equality_fires_in_float_and_in_fixed_alike(data, n_in, n_out, threshold_units):
    if data is None:  # the boundary itself: two inputs of 127/128 reach exactly 254/128
        units, bias = np.array([[127, 127, -3]]), np.zeros(1)
        spikes = np.zeros((1, 6, 3), np.uint8)
        spikes[0, 0, :2] = 1
    else:
        units = np.array(data.draw(st.lists(st.integers(-127, 127), min_size=n_in * n_out, max_size=n_in * n_out)))
        units = units.reshape(n_out, n_in)
        units[0, 0], units[0, 1] = 127, -(abs(units[0, 1]) or 1)  # mixed sign, largest magnitude 127
        bias = np.array(data.draw(st.lists(st.integers(-64, 64), min_size=n_out, max_size=n_out)))
        spikes = np.array(data.draw(st.lists(st.booleans(), min_size=3 * 6 * n_in, max_size=3 * 6 * n_in)))
        spikes = spikes.reshape(3, 6, n_in).astype(np.uint8)
    graph = _grid_graph(units, threshold_units, bias)
    int_graph, report = quantize(graph, PROFILE, spikes)
    float_trace, fixed_trace = simulate_float(graph, spikes), simulate_fixed(int_graph, spikes)
    assert np.array_equal(float_trace.output().spikes, fixed_trace.output().spikes)
    assert report[0].vth == 2 * threshold_units - 1 and report[0].scale == 256.0
    if data is None:
        assert fixed_trace.output().spikes[0, 0, 0] == 1  # V == threshold fires (torch's >=)


def test_shipped_model_quantizes_without_loss_and_input_graph_is_untouched(shipped_model_path):
    model, metadata = latdeploy.load(shipped_model_path)
    graph = graph_from_module(model, metadata)
    before = [n.weight.copy() for n in graph.nodes if isinstance(n, Dense)]
    train, test = load_split(DIGITS, "train"), load_split(DIGITS, "test")
    int_graph, report = quantize(graph, PROFILE, encode(model, train.x[:256]))
    assert all(
        np.array_equal(a, n.weight)
        for a, n in zip(before, [n for n in graph.nodes if isinstance(n, Dense)], strict=True)
    )
    assert [type(n).__name__ for n in int_graph.nodes] == ["SpikeInput", "DenseInt", "LIFInt", "DenseInt", "LIFInt"]
    assert all(layer.calibration_spike_agreement == 1.0 for layer in report)
    spikes = encode(model, test.x)
    float_trace, fixed_trace = simulate_float(graph, spikes), simulate_fixed(int_graph, spikes)
    for name in float_trace.layers:
        assert np.array_equal(float_trace.layers[name].spikes, fixed_trace.layers[name].spikes)


def test_unrepresentable_threshold_raises_a_range_error_naming_the_node():
    graph = _grid_graph(np.full((1, 2), 127), threshold_units=10**9, bias_units=np.zeros(1))
    with pytest.raises(QuantizationRangeError, match="'lif1'.*threshold mantissa"):
        quantize(graph, PROFILE, np.zeros((1, 6, 2), np.uint8))


def test_fewer_weight_bits_use_a_coarser_grid():
    rng = np.random.default_rng(0)
    graph = _grid_graph(rng.integers(-127, 128, (3, 5)), threshold_units=100, bias_units=np.zeros(3))
    int_graph, report = quantize(graph, PROFILE, np.zeros((1, 6, 5), np.uint8), weight_bits=4)
    weight = int_graph.node("dense1").weight
    assert report[0].weight_bits == 4 and np.all(weight % 32 == 0)
