"""Recurrent NIR graphs (a neuron -> Linear/Affine -> the same neuron, as the NIR paper's recurrent LIF
example and snnTorch's RLeaky export write them) against the NIR equations, discretised by forward Euler
with the recurrent spikes one step late (float64 numpy, written out here); other cycles refused by name."""

from __future__ import annotations

import nir
import numpy as np
import pytest

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.nir import graph_from_nir
from latdeploy.ir import RecurrentDense
from latdeploy.ir.onnx_io import from_onnx, to_onnx
from latdeploy.sim.float_sim import simulate_float

RNG = np.random.default_rng(77)
DT, TAU = 1e-4, 5e-4


def _lif(size: int, r: float = 1.0, v_leak: float = 0.0) -> nir.LIF:
    return nir.LIF(
        tau=np.full(size, TAU), r=np.full(size, r), v_leak=np.full(size, v_leak),
        v_threshold=np.full(size, 0.5), v_reset=np.zeros(size),
    )  # fmt: skip


def _recurrent_graph(n_in: int = 5, hidden: int = 7, n_out: int = 3) -> nir.NIRGraph:
    nodes = {
        "input": nir.Input(input_type=np.array([n_in])),
        "fc1": nir.Affine(weight=RNG.normal(0, 2.0, (hidden, n_in)), bias=RNG.normal(0, 0.1, hidden)),
        "lif1": _lif(hidden, r=4.0, v_leak=0.05),
        "rec1": nir.Affine(weight=RNG.normal(0, 1.5, (hidden, hidden)), bias=RNG.normal(0, 0.05, hidden)),
        "fc2": nir.Linear(weight=RNG.normal(0, 2.0, (n_out, hidden))),
        "lif2": _lif(n_out, r=4.5),
        "rec2": nir.Linear(weight=RNG.normal(0, 1.0, (n_out, n_out))),
        "output": nir.Output(output_type=np.array([n_out])),
    }
    edges = [
        ("input", "fc1"), ("fc1", "lif1"), ("lif1", "rec1"), ("rec1", "lif1"), ("lif1", "fc2"),
        ("fc2", "lif2"), ("lif2", "rec2"), ("rec2", "lif2"), ("lif2", "output"),
    ]  # fmt: skip
    return nir.NIRGraph(nodes=nodes, edges=edges)


def _affine(node, x):
    y = x @ np.asarray(node.weight, np.float64).T
    return y + node.bias if isinstance(node, nir.Affine) else y


def _reference(graph: nir.NIRGraph, spikes: np.ndarray) -> dict[str, np.ndarray]:
    """Per LIF layer, its spikes ``[B, T, N]``: input current ``W x[t] + W_rec s[t-1]`` (Euler step DT)."""
    signal, out = spikes.astype(np.float64), {}
    for synapse, neuron, loop in (("fc1", "lif1", "rec1"), ("fc2", "lif2", "rec2")):
        feed, lif, back = graph.nodes[synapse], graph.nodes[neuron], graph.nodes[loop]
        batch, steps, _ = signal.shape
        size = lif.tau.size
        v, s = np.zeros((batch, size)), np.zeros((batch, size))
        fired = np.zeros((batch, steps, size))
        for t in range(steps):
            current = _affine(feed, signal[:, t]) + _affine(back, s)
            v = v + DT / lif.tau * (lif.v_leak - v + lif.r * current)
            s = (v > lif.v_threshold).astype(np.float64)
            v = np.where(s > 0, 0.0, v)
            fired[:, t] = s
        out[neuron] = fired.astype(np.uint8)
        signal = fired
    return out


def test_recurrent_lif_graph_runs_as_the_nir_equations_with_the_loop_one_step_late():
    graph = _recurrent_graph()
    ours_graph = graph_from_nir(graph, dt=DT)
    loops = ours_graph.loops()
    assert {name: node.name for name, node in loops.items()} == {"lif1": "rec1", "lif2": "rec2"}
    assert all(isinstance(node, RecurrentDense) for node in loops.values())
    spikes = (RNG.random((6, 30, 5)) < 0.3).astype(np.uint8)
    expected = _reference(graph, spikes)
    trace = simulate_float(ours_graph, spikes)
    for name, theirs in expected.items():
        assert 0 < theirs.sum() < theirs.size, name
        assert np.array_equal(trace.layers[name].spikes, theirs), name
    # the IR round-trips ONNX with its loops
    assert from_onnx(to_onnx(ours_graph)).loops().keys() == {"lif1", "lif2"}


def _two_layer_cycle() -> nir.NIRGraph:
    nodes = {
        "input": nir.Input(input_type=np.array([3])),
        "fc1": nir.Linear(weight=np.ones((4, 3))),
        "lif1": _lif(4),
        "fc2": nir.Linear(weight=np.ones((4, 4))),
        "lif2": _lif(4),
        "back": nir.Linear(weight=np.ones((4, 4))),
        "output": nir.Output(output_type=np.array([4])),
    }
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "back"),
             ("back", "lif1"), ("lif2", "output")]  # fmt: skip
    return nir.NIRGraph(nodes=nodes, edges=edges)


def test_a_cycle_through_two_layers_is_refused_naming_its_nodes():
    nodes = r"\['lif1', 'fc2', 'lif2', 'back'\]"
    with pytest.raises(UnsupportedLayerError, match=rf"cycle through {nodes}.*loops of the form"):
        graph_from_nir(_two_layer_cycle(), dt=DT)


def test_a_recurrent_weight_that_also_feeds_another_node_is_not_a_loop():
    graph = _recurrent_graph()
    graph.nodes["spy"] = _lif(7)
    graph.edges.append(("rec1", "spy"))
    with pytest.raises(UnsupportedLayerError, match=r"cycle through .*'rec1'"):
        graph_from_nir(graph, dt=DT)
