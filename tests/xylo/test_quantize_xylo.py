"""Quantizing for Xylo: what it computes, and what it refuses (naming the layer and the limit)."""

from __future__ import annotations

import numpy as np
import pytest

from latdeploy.errors import QuantizationRangeError, ResourceError, UnsupportedLayerError
from latdeploy.ir import LIF, TTFS, Graph
from latdeploy.passes.quantize_xylo import quantize_for_xylo
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.sim.float_sim import simulate_float
from tests.xylo.graphs import float_mlp, latency_spikes


def test_layers_become_xylo_integers_with_bit_shift_decays_and_shared_threshold_scale() -> None:
    rng = np.random.default_rng(0)
    graph = float_mlp([8, 10, 3], rng, current_decay=0.25, voltage_decay=0.125)
    spikes = latency_spikes(rng, 20, graph.timesteps, 8)
    int_graph, report = quantize_for_xylo(graph, spikes)
    hidden, readout = int_graph.neurons()
    assert (hidden.dash_syn == 2).all() and (hidden.dash_mem == 3).all()
    assert hidden.input_lag == 0 and readout.input_lag == 1 and readout.max_spikes == 1
    # the smallest weight shift that fits: the largest weight uses more than half of the 8 bits
    assert hidden.weight_shift > 0 and 63 < np.abs(hidden.weight).max() <= 127
    assert report[0]["vth"] == hidden.threshold[0] and report[0]["calibration_spike_agreement"] > 0.9


def test_float_and_xylo_spikes_mostly_agree_on_a_small_network() -> None:
    rng = np.random.default_rng(1)
    graph = float_mlp([12, 16, 4], rng, gain=3.0)
    spikes = latency_spikes(rng, 40, graph.timesteps, 12)
    int_graph, _ = quantize_for_xylo(graph, spikes)
    reference, fixed = simulate_float(graph, spikes), simulate_fixed(int_graph, spikes)
    agreement = ((reference.layers["lif1"].spikes != 0) == (fixed.layers["lif1"].spikes != 0)).mean()
    assert agreement > 0.95


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ([17, 4, 2], r"input 'input': 17 channels exceed Xylo Audio 2's 16 input channels"),
        ([4, 600, 401, 2], r"hidden layers \('lif0' 600, 'lif1' 401\): 1001 neurons exceed Xylo Audio 2's 1000"),
        ([4, 5, 9], r"layer 'lif1': 9 readout neurons exceed Xylo Audio 2's 8"),
        ([4, 3], r"at least one hidden layer"),
    ],
)
def test_a_network_beyond_one_xylo_core_is_refused_naming_the_layer_and_limit(sizes, message) -> None:
    rng = np.random.default_rng(2)
    graph = float_mlp(sizes, rng, steps=3)
    with pytest.raises(ResourceError, match=message):
        quantize_for_xylo(graph, latency_spikes(rng, 2, 3, sizes[0]))


def test_decays_that_are_no_bit_shift_are_refused_with_the_reason() -> None:
    rng = np.random.default_rng(3)
    with pytest.raises(QuantizationRangeError, match=r"layer 'lif0': current_decay 0.3 is not 2\*\*-k"):
        quantize_for_xylo(float_mlp([3, 4, 2], rng, current_decay=0.3), latency_spikes(rng, 2, 12, 3))
    with pytest.raises(QuantizationRangeError, match="would clear every input"):
        quantize_for_xylo(float_mlp([3, 4, 2], rng, current_decay=1.0), latency_spikes(rng, 2, 12, 3))


@pytest.mark.parametrize(
    ("node_type", "reason"),
    [(LIF, "resets to zero; Xylo's neurons subtract"), (TTFS, "fires at most once per sample")],
)
def test_neuron_kinds_without_a_xylo_equivalent_are_refused_with_the_reason(node_type, reason) -> None:
    rng = np.random.default_rng(4)
    graph = float_mlp([3, 4, 2], rng)
    swapped = [
        node_type(n.name, n.inputs, threshold=1.0, current_decay=0.5, voltage_decay=0.0625, bias=n.bias)
        if n.name == "lif0"
        else n
        for n in graph.nodes
    ]
    with pytest.raises(UnsupportedLayerError, match=f"node 'lif0': {node_type.__name__} cannot run on Xylo: {reason}"):
        quantize_for_xylo(Graph(tuple(swapped), graph.metadata), latency_spikes(rng, 2, 12, 3))
