"""Quantizing the extra neurons: exact on the grid (decays of 1/2 included), ranges, calibration."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.errors import QuantizationRangeError
from latdeploy.hw.profile import load_profile
from latdeploy.ir import Dense, Graph, SpikeInput
from latdeploy.ir.neurons_ext import TTFS, MultiThresholdLIF, MultiThresholdLIFInt, SoftResetLIF, TTFSInt
from latdeploy.passes.quantize import neuron_quantizer, quantize
from latdeploy.passes.quantize_layers import decay_fields
from latdeploy.sim.fixed import dense_int
from latdeploy.sim.fixed_neurons import neuron_int
from latdeploy.sim.float_sim import float_neuron

PROFILE = load_profile("loihi2")


def _float_layer(node, weight: np.ndarray, spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    current = torch.from_numpy(spikes.astype(np.float32)).permute(1, 0, 2) @ torch.from_numpy(weight).T
    out, v_pre = float_neuron(node, current)
    return out.permute(1, 0, 2).numpy(), v_pre.permute(1, 0, 2).numpy()


@settings(max_examples=40)
@given(
    data=st.data(),
    kind=st.sampled_from(["soft", "ttfs", "multi_zero", "multi_subtract"]),
    decay=st.sampled_from([(1.0, 0.0), (0.5, 0.0), (1.0, 0.5), (0.5, 0.5)]),
)
def test_exact_on_the_grid(data, kind, decay):
    """Weights m/64 (one of them 254/64), threshold T/64, bias k/64 and decays 1/2 are exact in
    float32 and on the integer grid (scale 64, v in multiples of 64 halved at most 5 times),
    so the fixed-point layer reproduces the float layer's spikes and membranes exactly."""
    n_in, n_out = data.draw(st.integers(2, 6)), data.draw(st.integers(1, 5))
    units = np.array(data.draw(st.lists(st.integers(-127, 127), min_size=n_in * n_out, max_size=n_in * n_out)))
    units = (units * 2).reshape(n_out, n_in)
    units[0, 0], units[0, 1] = 254, -2  # mixed sign: even values, 254 the largest
    threshold_units = data.draw(st.integers(1, 600))
    bias_units = np.array(data.draw(st.lists(st.integers(-200, 200), min_size=n_out, max_size=n_out)))
    fields = {
        "threshold": threshold_units / 64.0,
        "current_decay": decay[0],
        "voltage_decay": decay[1],
        "bias": bias_units / 64.0,
    }
    node = {
        "soft": lambda: SoftResetLIF("n", ("d",), **fields),
        "ttfs": lambda: TTFS("n", ("d",), **fields),
        "multi_zero": lambda: MultiThresholdLIF("n", ("d",), levels=3, **fields),
        "multi_subtract": lambda: MultiThresholdLIF("n", ("d",), levels=4, reset="subtract", **fields),
    }[kind]()
    dense = Dense("d", ("input",), weight=units / 64.0)
    spikes = np.array(data.draw(st.lists(st.booleans(), min_size=3 * 5 * n_in, max_size=3 * 5 * n_in)), np.uint8)
    spikes = spikes.reshape(3, 5, n_in)
    synapse, integer, facts = neuron_quantizer(node)(dense, node, PROFILE, 1.0, 8)
    assert facts["vth"] == threshold_units and facts["decays_exact"] and facts["weight_exp"] == 0
    assert np.array_equal(synapse.weight, units)
    assert np.array_equal(integer.bias_mant, bias_units)
    float_spikes, float_v = _float_layer(node, dense.weight, spikes)
    trace, _ = neuron_int(integer, dense_int(synapse, spikes))
    assert np.array_equal(trace.spikes, float_spikes)
    assert np.array_equal(trace.v_pre, (float_v * 64 * 64).astype(np.int64))


def test_threshold_is_snapped_to_an_integer_and_levels_fit_the_membrane():
    rng = np.random.default_rng(0)
    dense = Dense("d", ("input",), weight=rng.normal(size=(4, 8)))
    node = MultiThresholdLIF("n", ("d",), threshold=1000.0, levels=8, bias=np.full(4, 0.3))
    _, integer, facts = neuron_quantizer(node)(dense, node, PROFILE, 1.0, 8)
    assert isinstance(integer, MultiThresholdLIFInt)
    assert integer.levels * (integer.vth << 6) <= (1 << 23) - 1
    assert facts["threshold_scaled"] == pytest.approx(integer.vth)
    assert facts["weight_exp"] < 0
    with pytest.raises(QuantizationRangeError, match="threshold"):
        neuron_quantizer(node)(dense, node.replace(threshold=1e9), PROFILE, 1.0, 8)


def test_decay_fields_say_when_they_are_exact():
    assert decay_fields(1.0, 0.0) == (4095, 0, True)
    assert decay_fields(0.25, 0.5) == (1023, 2048, True)
    assert decay_fields(0.1, 0.0)[2] is False
    assert decay_fields(0.0, 0.0) == (0, 0, False)  # Lava always decays u by at least 1/4096


def test_quantize_pass_calibrates_a_chain_of_extra_neurons_with_current_decay():
    rng = np.random.default_rng(3)
    graph = Graph(
        (
            SpikeInput("input", (), neurons=16),
            Dense("d1", ("input",), weight=rng.normal(0.1, 0.5, size=(12, 16))),
            MultiThresholdLIF("n1", ("d1",), threshold=0.7, levels=3, current_decay=0.5, bias=np.zeros(12)),
            Dense("d2", ("n1",), weight=rng.normal(0.1, 0.3, size=(8, 12))),
            TTFS("n2", ("d2",), threshold=1.0, current_decay=0.3, voltage_decay=0.05, bias=np.full(8, 0.05)),
        ),
        {"timesteps": 6},
    )
    spikes = (rng.random((32, 6, 16)) < 0.3).astype(np.uint8)
    integer, report = quantize(graph, PROFILE, spikes)
    assert [type(n).__name__ for n in integer.nodes] == [
        "SpikeInput",
        "DenseInt",
        "MultiThresholdLIFInt",
        "DenseInt",
        "TTFSInt",
    ]
    assert isinstance(integer.node("n2"), TTFSInt) and integer.node("n1").levels == 3
    for layer in report:
        assert layer.calibration_spike_agreement >= 0.95
        assert layer.threshold_scaled == pytest.approx(layer.vth)
    assert report[0].extra["decays_exact"] and not report[1].extra["decays_exact"]
    assert report[0].extra["levels"] == 3
