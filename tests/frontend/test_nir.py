"""NIR graphs written with the ``nir`` API the way frameworks export them, imported and simulated.

The reference is the NIR node equations themselves, discretised by forward Euler
with the graph's ``dt`` (float64 numpy, written out here independently of latdeploy).
"""

from __future__ import annotations

import nir
import numpy as np
import pytest

from latdeploy.errors import ModelFormatError, UnsupportedLayerError
from latdeploy.frontend.nir import graph_from_nir, read_nir
from latdeploy.sim.float_sim import simulate_float

RNG = np.random.default_rng(1234)


def _reference(graph: nir.NIRGraph, spikes: np.ndarray, dt: float) -> np.ndarray:
    """Spikes ``[B, T, N]`` of the last neuron layer under the NIR equations (Euler, step dt)."""
    order = ["input"]
    while order[-1] != "output":
        order.append(next(target for source, target in graph.edges if source == order[-1]))
    signal = spikes.astype(np.float64)
    for name in order[1:-1]:
        node = graph.nodes[name]
        if isinstance(node, (nir.Affine, nir.Linear)):
            signal = signal @ node.weight.T.astype(np.float64)
            if isinstance(node, nir.Affine):
                signal = signal + node.bias
            continue
        batch, steps, size = signal.shape
        current, voltage, out = np.zeros((batch, size)), np.zeros((batch, size)), np.zeros_like(signal)
        for t in range(steps):
            x = signal[:, t]
            if isinstance(node, nir.Threshold):
                out[:, t] = x > node.threshold
                continue
            if isinstance(node, nir.IF):
                voltage = voltage + dt * node.r * x
            elif isinstance(node, nir.LIF):
                voltage = voltage + dt / node.tau * (node.v_leak - voltage + node.r * x)
            elif isinstance(node, nir.CubaLIF):
                current = current + dt / node.tau_syn * (-current + node.w_in * x)
                voltage = voltage + dt / node.tau_mem * (node.v_leak - voltage + node.r * current)
            fired = voltage > node.v_threshold
            out[:, t] = fired
            voltage = np.where(fired, node.v_reset, voltage)
        signal = out
    return signal.astype(np.uint8)


def _check(graph: nir.NIRGraph, dt: float, n_in: int, steps: int = 30) -> None:
    spikes = (RNG.random((4, steps, n_in)) < 0.3).astype(np.uint8)
    ours = simulate_float(graph_from_nir(graph), spikes).output().spikes
    expected = _reference(graph, spikes, dt)
    assert 0 < expected.sum() < expected.size
    assert np.array_equal(ours, expected)


def test_snntorch_style_leaky_layers():
    """snnTorch exports Linear + Leaky(beta) as Affine + LIF(tau = dt/(1-beta), r = tau/dt), dt = 1e-4."""
    dt, beta = 1e-4, 0.9
    tau = dt / (1 - beta)
    nodes, edges, sizes, previous = {"input": nir.Input(input_type=np.array([6]))}, [], [6, 8, 3], "input"
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        nodes[f"fc{index}"] = nir.Affine(weight=RNG.normal(0, 0.8, (n_out, n_in)), bias=RNG.normal(0, 0.05, n_out))
        nodes[f"lif{index}"] = nir.LIF(
            tau=np.full(n_out, tau), r=np.full(n_out, tau / dt), v_leak=np.zeros(n_out),
            v_threshold=np.full(n_out, 0.6), v_reset=np.zeros(n_out),
        )  # fmt: skip
        edges += [(previous, f"fc{index}"), (f"fc{index}", f"lif{index}")]
        previous = f"lif{index}"
    nodes["output"] = nir.Output(output_type=np.array([3]))
    edges.append((previous, "output"))
    _check(nir.NIRGraph(nodes=nodes, edges=edges), dt, 6)


def test_cuba_lif_with_leak_and_input_weight_as_norse_or_sinabs_write_it():
    dt = 1e-3
    size = 5
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([7])),
            "linear": nir.Linear(weight=RNG.normal(0, 1.0, (size, 7))),
            "cuba": nir.CubaLIF(
                tau_syn=np.full(size, 5e-3),
                tau_mem=np.full(size, 1e-2),
                r=np.full(size, 10.0),
                v_leak=np.full(size, 0.02),
                v_threshold=np.full(size, 0.3),
                w_in=np.full(size, 2.0),
            ),  # fmt: skip
            "output": nir.Output(output_type=np.array([size])),
        },
        edges=[("input", "linear"), ("linear", "cuba"), ("cuba", "output")],
        metadata={"dt": dt},
    )
    _check(graph, dt, 7)


def test_if_and_threshold_layers():
    dt = 1e-4
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([4])),
            "fc1": nir.Affine(weight=RNG.normal(0, 1.0, (6, 4)), bias=np.full(6, 0.05)),
            "if1": nir.IF(r=np.full(6, 1 / dt), v_threshold=np.full(6, 1.0)),
            "fc2": nir.Affine(weight=RNG.normal(0, 1.0, (3, 6)), bias=np.zeros(3)),
            "th": nir.Threshold(threshold=np.full(3, 0.25)),
            "output": nir.Output(output_type=np.array([3])),
        },
        edges=[("input", "fc1"), ("fc1", "if1"), ("if1", "fc2"), ("fc2", "th"), ("th", "output")],
    )
    _check(graph, dt, 4)


def test_strict_threshold_equality_is_kept():
    """NIR fires on v > v_thr; at v == v_thr exactly no spike, one float32 step above a spike."""
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([1])),
            "fc": nir.Affine(
                weight=np.array([[0.5], [np.nextafter(np.float32(0.5), np.float32(1))]]), bias=np.zeros(2)
            ),
            "th": nir.Threshold(threshold=np.full(2, 0.5)),
            "output": nir.Output(output_type=np.array([2])),
        },
        edges=[("input", "fc"), ("fc", "th"), ("th", "output")],
    )
    spikes = simulate_float(graph_from_nir(graph), np.ones((1, 1, 1), np.uint8)).output().spikes
    assert spikes[0, 0].tolist() == [0, 1]


def test_what_latdeploy_cannot_express_is_refused(tmp_path):
    base = {"input": nir.Input(input_type=np.array([2])), "fc": nir.Linear(weight=np.ones((2, 2)))}
    reset = dict(base, lif=nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.full(2, 0.5)))
    reset["output"] = nir.Output(output_type=np.array([2]))
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "output")]
    with pytest.raises(UnsupportedLayerError, match="'lif': v_reset must be 0"):
        graph_from_nir(nir.NIRGraph(nodes=reset, edges=edges))
    uneven = dict(reset, lif=nir.LIF(tau=np.array([1e-3, 2e-3]), r=np.ones(2), v_leak=np.zeros(2),
                                     v_threshold=np.ones(2)))  # fmt: skip
    with pytest.raises(UnsupportedLayerError, match="per-neuron tau"):
        graph_from_nir(nir.NIRGraph(nodes=uneven, edges=edges))
    branching = dict(reset, lif=nir.IF(r=np.ones(2), v_threshold=np.ones(2)), extra=nir.Output(np.array([2])))
    with pytest.raises(UnsupportedLayerError, match="feeds 2 nodes"):
        graph_from_nir(nir.NIRGraph(nodes=branching, edges=[*edges, ("lif", "extra")]))
    scale = dict(reset, lif=nir.Scale(scale=np.ones(2)))
    with pytest.raises(UnsupportedLayerError, match="NIR Scale is not supported"):
        graph_from_nir(nir.NIRGraph(nodes=scale, edges=edges))
    (tmp_path / "bad.nir").write_bytes(b"nothing")
    with pytest.raises(ModelFormatError, match="bad.nir: not a readable NIR file"):
        read_nir(tmp_path / "bad.nir")
