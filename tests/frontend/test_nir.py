"""NIR graphs written with the ``nir`` API the way frameworks export them, imported and simulated.

The reference is the NIR node equations themselves, discretised by forward Euler
with the graph's ``dt`` (float64 numpy, written out here independently of latdeploy).
"""

from __future__ import annotations

import nir
import numpy as np
import pytest

from latdeploy.errors import ModelFormatError, UnsupportedLayerError
from latdeploy.frontend.nir import NIR_READERS, graph_from_nir, read_nir
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
    ours = simulate_float(graph_from_nir(graph, dt=dt), spikes).output().spikes
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
    spikes = simulate_float(graph_from_nir(graph, dt=1e-4), np.ones((1, 1, 1), np.uint8)).output().spikes
    assert spikes[0, 0].tolist() == [0, 1]


def test_what_latdeploy_cannot_express_is_refused(tmp_path):
    base = {"input": nir.Input(input_type=np.array([2])), "fc": nir.Linear(weight=np.ones((2, 2)))}
    reset = dict(base, lif=nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.full(2, 0.5)))
    reset["output"] = nir.Output(output_type=np.array([2]))
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "output")]
    with pytest.raises(UnsupportedLayerError, match="'lif': v_reset must be 0"):
        graph_from_nir(nir.NIRGraph(nodes=reset, edges=edges), dt=1e-4)
    uneven = dict(reset, lif=nir.LIF(tau=np.array([1e-3, 2e-3]), r=np.ones(2), v_leak=np.zeros(2),
                                     v_threshold=np.ones(2)))  # fmt: skip
    with pytest.raises(UnsupportedLayerError, match="per-neuron tau"):
        graph_from_nir(nir.NIRGraph(nodes=uneven, edges=edges), dt=1e-4)
    branching = dict(reset, lif=nir.IF(r=np.ones(2), v_threshold=np.ones(2)), extra=nir.Output(np.array([2])))
    with pytest.raises(UnsupportedLayerError, match="feeds 2 nodes"):
        graph_from_nir(nir.NIRGraph(nodes=branching, edges=[*edges, ("lif", "extra")]), dt=1e-4)
    scale = dict(reset, lif=nir.Scale(scale=np.ones(2)))
    with pytest.raises(UnsupportedLayerError, match="NIR Scale is not supported"):
        graph_from_nir(nir.NIRGraph(nodes=scale, edges=edges), dt=1e-4)
    (tmp_path / "bad.nir").write_bytes(b"nothing")
    with pytest.raises(ModelFormatError, match="bad.nir: not a readable NIR file"):
        read_nir(tmp_path / "bad.nir")


def _reference_conv_graph(graph: nir.NIRGraph, spikes: np.ndarray, dt: float, shape: tuple[int, ...]) -> np.ndarray:
    """NIR equations for Conv2d / pooling / Delay / Flatten chains (torch float64 ops as the reference math)."""
    import torch
    import torch.nn.functional as F

    order = ["input"]
    while order[-1] != "output":
        order.append(next(target for source, target in graph.edges if source == order[-1]))
    batch, steps = spikes.shape[:2]
    signal = torch.from_numpy(spikes.astype(np.float64)).reshape(batch * steps, *shape)
    for name in order[1:-1]:
        node = graph.nodes[name]
        if isinstance(node, nir.Conv2d):
            signal = F.conv2d(signal, torch.from_numpy(node.weight), torch.from_numpy(node.bias),
                              stride=tuple(node.stride), padding=tuple(node.padding), groups=node.groups)  # fmt: skip
        elif isinstance(node, (nir.SumPool2d, nir.AvgPool2d)):
            kernel = tuple(int(k) for k in node.kernel_size)
            signal = F.avg_pool2d(
                signal, kernel, tuple(int(s) for s in node.stride), tuple(int(p) for p in node.padding)
            )
            signal = signal * (np.prod(kernel) if isinstance(node, nir.SumPool2d) else 1.0)
        elif isinstance(node, nir.Flatten):
            signal = signal.reshape(batch * steps, -1)
        elif isinstance(node, nir.Affine):
            signal = signal @ torch.from_numpy(node.weight).T + torch.from_numpy(node.bias)
        elif isinstance(node, nir.Delay):
            shift = int(round(float(node.delay.reshape(-1)[0]) / dt))
            timed = signal.reshape(batch, steps, *signal.shape[1:])
            signal = torch.cat([torch.zeros_like(timed[:, :shift]), timed[:, : steps - shift]], 1).reshape(signal.shape)
        else:  # a neuron: Euler steps over time, per element
            timed = signal.reshape(batch, steps, -1).numpy()
            voltage, out = np.zeros_like(timed[:, 0]), np.zeros_like(timed)
            for t in range(steps):
                if isinstance(node, nir.Threshold):
                    out[:, t] = timed[:, t] > node.threshold.reshape(-1)
                    continue
                if isinstance(node, nir.IF):
                    voltage = voltage + dt * node.r.reshape(-1) * timed[:, t]
                else:
                    voltage = voltage + dt / node.tau.reshape(-1) * (
                        node.v_leak.reshape(-1) - voltage + node.r.reshape(-1) * timed[:, t]
                    )
                out[:, t] = voltage > node.v_threshold.reshape(-1)
                voltage = np.where(out[:, t] > 0, 0.0, voltage)
            signal = torch.from_numpy(out).reshape(signal.shape)
    return signal.reshape(batch, steps, -1).numpy().astype(np.uint8)


@pytest.mark.parametrize("pool", [nir.SumPool2d, nir.AvgPool2d])
def test_convolutional_graph_with_pooling_and_delay_as_sinabs_or_snntorch_write_it(pool):
    dt = 1e-3
    c1, c2 = 4, 6
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([2, 8, 8])),
            "conv1": nir.Conv2d(
                input_shape=(8, 8),
                weight=RNG.normal(0, 0.7, (c1, 2, 3, 3)),
                stride=1,
                padding=1,
                dilation=1,
                groups=1,
                bias=RNG.normal(0, 0.05, c1),
            ),
            "if1": nir.IF(r=np.full((c1, 8, 8), 1 / dt), v_threshold=np.full((c1, 8, 8), 1.0)),
            "delay": nir.Delay(delay=np.full((c1, 8, 8), 2 * dt)),
            "pool": pool(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
            "conv2": nir.Conv2d(
                input_shape=(4, 4),
                weight=RNG.normal(0, 0.5, (c2, c1, 3, 3)),
                stride=2,
                padding=0,
                dilation=1,
                groups=1,
                bias=np.zeros(c2),
            ),
            "lif2": nir.LIF(
                tau=np.full((c2, 1, 1), 4 * dt),
                r=np.full((c2, 1, 1), 3.0),
                v_leak=np.zeros((c2, 1, 1)),
                v_threshold=np.full((c2, 1, 1), 0.4),
            ),
            "flat": nir.Flatten(input_type={"input": np.array([c2, 1, 1])}, start_dim=0),
            "fc": nir.Affine(weight=RNG.normal(0, 1.0, (3, c2)), bias=np.zeros(3)),
            "th": nir.Threshold(threshold=np.full(3, 0.3)),
            "output": nir.Output(output_type=np.array([3])),
        },  # fmt: skip
        edges=[
            ("input", "conv1"),
            ("conv1", "if1"),
            ("if1", "delay"),
            ("delay", "pool"),
            ("pool", "conv2"),
            ("conv2", "lif2"),
            ("lif2", "flat"),
            ("flat", "fc"),
            ("fc", "th"),
            ("th", "output"),
        ],  # fmt: skip
        metadata={"dt": dt},
        type_check=False,
    )
    imported = graph_from_nir(graph)
    assert [type(n).__name__ for n in imported.nodes] == [
        "SpikeInput", "Conv2d", "LIF", "AxonalDelay", "Pool2d", "Conv2d", "LIF", "Dense", "LIF"
    ]  # fmt: skip
    spikes = (RNG.random((3, 20, 2 * 8 * 8)) < 0.3).astype(np.uint8)
    ours = simulate_float(imported, spikes)
    expected = _reference_conv_graph(graph, spikes, dt, (2, 8, 8))
    assert ours.layers["lif2"].spikes.sum() > 0 and 0 < expected.sum() < expected.size
    assert np.array_equal(ours.output().spikes, expected)


def test_one_reader_per_nir_node_class_of_the_documented_list():
    documented = "Input Output Affine Linear Conv2d SumPool2d AvgPool2d Flatten Delay IF LIF CubaLIF Threshold"
    assert sorted(NIR_READERS.names()) == sorted(documented.split())
    assert all(NIR_READERS.get(getattr(nir, name)) for name in documented.split())


@pytest.mark.parametrize("dt", [np.zeros((3, 3, 3)), [1e-4, 1e-4], "1e-4\n2e-4"])
def test_a_time_step_that_is_not_one_number_is_refused_in_one_line(dt):
    """Found by tests/hardening/test_fuzz_interchange.py: the message printed the whole array over several lines."""
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([2])),
            "linear": nir.Linear(weight=np.ones((2, 2))),
            "output": nir.Output(output_type=np.array([2])),
        },
        edges=[("input", "linear"), ("linear", "output")],
        metadata={"dt": dt},
    )
    with pytest.raises(ModelFormatError, match="model.nir: metadata 'dt' must be one number") as error:
        graph_from_nir(graph, where="model.nir")
    assert "\n" not in str(error.value)
