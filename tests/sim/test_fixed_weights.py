"""The per-node preparation of Dense weights: reused while the node is unchanged, never stale."""

from __future__ import annotations

import dataclasses
import gc

import numpy as np

import latdeploy.sim.fixed_delay  # noqa: F401  (registers the DelayDenseInt kernel)
from latdeploy.ir import DenseInt, Graph, LIFInt, SpikeInput
from latdeploy.ir.netx_nodes import DelayDenseInt
from latdeploy.sim import fixed_weights
from latdeploy.sim.fixed import lava_dense_weights, simulate_fixed
from latdeploy.sim.fixed_weights import prepared

SIZES = (16, 24, 8)


def _graph(seed: int = 0, delayed: bool = False) -> tuple[Graph, np.ndarray]:
    rng = np.random.default_rng(seed)
    nodes: list = [SpikeInput("input", (), neurons=SIZES[0])]
    for index, (fan_in, fan_out) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True), start=1):
        weight = rng.integers(-256, 256, (fan_out, fan_in)).astype(np.int32)
        if delayed and index == 1:
            delay = np.repeat(rng.integers(0, 4, (fan_out, 1)), fan_in, axis=1).astype(np.int32)
            nodes.append(DelayDenseInt(f"dense{index}", (nodes[-1].name,), weight=weight, delay=delay))
        else:
            nodes.append(DenseInt(f"dense{index}", (nodes[-1].name,), weight=weight))
        bias = np.zeros(fan_out, np.int32)
        nodes.append(LIFInt(f"lif{index}", (f"dense{index}",), du=1023, dv=1024, vth=20, bias_mant=bias))
    spikes = (rng.random((2, 30, SIZES[0])) < 0.2).astype(np.uint8)
    return Graph(tuple(nodes), {"timesteps": 30}), spikes


def _rebuilt(graph: Graph) -> Graph:
    """A copy of ``graph`` with new node objects (nothing prepared for them yet)."""
    return graph.replace_nodes([dataclasses.replace(node) for node in graph.nodes])


def _same_traces(first, second) -> bool:
    return all(
        np.array_equal(getattr(first.layers[name], key), getattr(second.layers[name], key))
        for name in first.layers
        for key in ("spikes", "v_pre", "u", "v")
    )


def test_weights_are_prepared_once_per_unchanged_node():
    graph, _ = _graph()
    node = graph.nodes[1]
    assert lava_dense_weights(node) is lava_dense_weights(node)


def test_changing_weights_in_place_after_a_run_gives_the_new_results():
    for delayed in (False, True):
        graph, spikes = _graph(delayed=delayed)
        before = simulate_fixed(graph, spikes)
        graph.nodes[1].weight[:] = -graph.nodes[1].weight  # in place: same array object
        graph.nodes[3].weight[0, 0] = 0 if graph.nodes[3].weight[0, 0] else 2
        after = simulate_fixed(graph, spikes)
        assert not _same_traces(before, after)
        assert _same_traces(after, simulate_fixed(_rebuilt(graph), spikes))


def test_replacing_weights_or_their_bit_width_gives_the_new_results():
    graph, spikes = _graph(seed=1)
    simulate_fixed(graph, spikes)
    dense = graph.nodes[3]
    dense.weight = np.ascontiguousarray(dense.weight[:, ::-1])
    assert _same_traces(simulate_fixed(graph, spikes), simulate_fixed(_rebuilt(graph), spikes))
    dense.num_weight_bits = 3
    assert _same_traces(simulate_fixed(graph, spikes), simulate_fixed(_rebuilt(graph), spikes))


def test_an_entry_goes_with_its_node():
    graph, spikes = _graph(seed=2)
    simulate_fixed(graph, spikes)
    keys = {(id(node), "lava_weights") for node in graph.nodes if hasattr(node, "weight")}
    assert keys <= set(fixed_weights._PREPARED)
    del graph
    gc.collect()
    assert not keys & set(fixed_weights._PREPARED)


def test_prepared_compares_inputs_by_value_dtype_and_shape():
    class Holder:
        pass

    holder, calls = Holder(), []

    def build():
        calls.append(1)
        return len(calls)

    values = np.arange(4, dtype=np.int32)
    assert prepared(holder, "x", (values, 3), build) == 1
    assert prepared(holder, "x", (values.copy(), 3), build) == 1
    assert prepared(holder, "x", (values.astype(np.int64), 3), build) == 2
    assert prepared(holder, "x", (values.reshape(2, 2), 3), build) == 3
    assert prepared(holder, "x", (values.reshape(2, 2), 4), build) == 4
    assert prepared(holder, "y", (values.reshape(2, 2), 4), build) == 5
