"""Quantizing recurrent layers: one scale and weight_exp for the feed-forward and recurrent weights;
the integer graph equals the float one where the weights lie on the grid, and runs on real Lava."""

from __future__ import annotations

import numpy as np
import pytest

from latdeploy.backends.lava import run_lava
from latdeploy.errors import UnsupportedLayerError
from latdeploy.hw.profile import load_profile
from latdeploy.ir import LIF, Dense, DenseInt, Graph, RecurrentDense, RecurrentDenseInt, SoftResetLIF, SpikeInput
from latdeploy.passes.quantize import quantize
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.sim.float_sim import simulate_float


def _dyadic(rng: np.random.Generator, shape: tuple[int, int], top: int = 127) -> np.ndarray:
    """Weights k/64 (exact in float32) whose largest |k| is ``top``: scale 128 puts them on Lava's even grid."""
    weight = rng.integers(-top, top + 1, shape)
    weight.flat[0] = top
    return (weight / 64).astype(np.float32)


def _graph(rng: np.random.Generator, recurrent_scale: float = 1.0) -> Graph:
    nodes = (
        SpikeInput("input", (), neurons=6),
        Dense("d1", ("input",), weight=_dyadic(rng, (8, 6))),
        SoftResetLIF("l1", ("d1",), threshold=1.0, bias=np.zeros(8, np.float32)),
        RecurrentDense("r1", ("l1",), weight=_dyadic(rng, (8, 8), top=int(127 * recurrent_scale))),
        Dense("d2", ("l1",), weight=_dyadic(rng, (4, 8))),
        LIF("l2", ("d2",), threshold=0.5, bias=np.zeros(4, np.float32)),
        RecurrentDense("r2", ("l2",), weight=_dyadic(rng, (4, 4))),
    )
    return Graph(nodes, {"timesteps": 10})


def test_recurrent_weights_share_the_layer_scale_and_the_integer_run_equals_the_float_one():
    rng = np.random.default_rng(0)
    graph = _graph(rng)
    spikes = (rng.random((20, 10, 6)) < 0.4).astype(np.uint8)
    int_graph, report = quantize(graph, load_profile("loihi2"), spikes)
    assert [type(n).__name__ for n in int_graph.nodes] == [
        "SpikeInput", "DenseInt", "SoftResetLIFInt", "RecurrentDenseInt", "DenseInt", "LIFInt", "RecurrentDenseInt",
    ]  # fmt: skip
    for layer, synapse, loop in (("l1", "d1", "r1"), ("l2", "d2", "r2")):
        feed, back = int_graph.node(synapse), int_graph.node(loop)
        assert isinstance(feed, DenseInt) and isinstance(back, RecurrentDenseInt)
        assert feed.weight_exp == back.weight_exp and feed.num_weight_bits == back.num_weight_bits
        assert int_graph.loops()[layer] is back
    assert [r.extra.get("recurrent") for r in report] == ["r1", "r2"]
    scale = report[0].scale / 2.0 ** report[0].weight_exp
    assert np.array_equal(int_graph.node("r1").weight, graph.node("r1").weight * scale)  # the shared grid
    reference, fixed = simulate_float(graph, spikes), simulate_fixed(int_graph, spikes)
    for name, layer in reference.layers.items():
        assert layer.spikes.any() and np.array_equal(layer.spikes, fixed.layers[name].spikes), name
    lava = run_lava(int_graph, spikes[:4], timeout=300)
    fixed = simulate_fixed(int_graph, spikes[:4])
    for name, layer in fixed.layers.items():
        assert np.array_equal(layer.spikes, lava.trace.layers[name].spikes), name
    for key in ("u", "v", "v_pre"):
        assert np.array_equal(getattr(fixed.output(), key), getattr(lava.trace.output(), key)), key


def test_a_small_recurrent_weight_is_quantized_on_the_feed_forward_scale():
    """The larger of the two matrices sets the scale; the recurrent one is not stretched to the grid's top."""
    rng = np.random.default_rng(1)
    graph = _graph(rng, recurrent_scale=0.25)
    spikes = (rng.random((8, 10, 6)) < 0.4).astype(np.uint8)
    int_graph, _ = quantize(graph, load_profile("loihi2"), spikes)
    assert np.abs(int_graph.node("r1").weight).max() <= 64
    assert np.abs(int_graph.node("d1").weight).max() == 254


def test_xylo_refuses_a_recurrent_connection_by_name():
    rng = np.random.default_rng(2)
    graph = Graph(
        (
            SpikeInput("input", (), neurons=6),
            Dense("d1", ("input",), weight=_dyadic(rng, (8, 6))),
            SoftResetLIF("l1", ("d1",), threshold=1.0, current_decay=0.5, voltage_decay=0.5, bias=np.zeros(8)),
            RecurrentDense("r1", ("l1",), weight=_dyadic(rng, (8, 8))),
            Dense("d2", ("l1",), weight=_dyadic(rng, (3, 8))),
            SoftResetLIF("l2", ("d2",), threshold=1.0, current_decay=0.5, voltage_decay=0.5, bias=np.zeros(3)),
        ),
        {"timesteps": 4},
    )
    with pytest.raises(UnsupportedLayerError, match=r"node 'r1': RecurrentDense cannot run on Xylo: a recurrent"):
        quantize(graph, load_profile("xylo-audio2"), np.zeros((2, 4, 6), np.uint8))
