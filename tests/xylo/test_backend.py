"""The ``xylo-sim`` backend: latdeploy's fixed-point Xylo kernels equal xylosim on quantized graphs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.backends.select import backend_for_target, get_backend
from latdeploy.errors import BackendError
from latdeploy.passes.quantize_xylo import quantize_for_xylo
from latdeploy.sim.fixed import simulate_fixed
from tests.xylo.graphs import float_mlp, latency_spikes

pytestmark = pytest.mark.usefixtures("xylosim_installed")


def assert_traces_equal(fixed, hardware) -> None:
    assert list(fixed.layers) == list(hardware.layers)
    for name, layer in fixed.layers.items():
        other = hardware.layers[name]
        for field in ("spikes", "v_pre", "u", "v"):
            np.testing.assert_array_equal(getattr(layer, field), getattr(other, field), err_msg=f"{name}.{field}")
    assert fixed.overflow == hardware.overflow


def test_the_backend_is_registered_under_its_target() -> None:
    backend = backend_for_target("xylo-sim")
    assert backend is get_backend("xylo") and backend.short_label == "Xylo"
    assert backend.versions() == {"xylosim": "0.1.3"}


@given(
    seed=st.integers(0, 2**32 - 1),
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=3),
    channels=st.integers(1, 16),
    outputs=st.integers(1, 8),
    dash=st.integers(1, 4),
    gain=st.sampled_from([0.5, 2.0, 8.0]),
)
@settings(max_examples=25)
def test_quantized_graphs_run_alike_on_latdeploy_and_xylosim(seed, sizes, channels, outputs, dash, gain) -> None:
    rng = np.random.default_rng(seed)
    graph = float_mlp([channels, *sizes, outputs], rng, current_decay=2.0**-dash, gain=gain)
    spikes = latency_spikes(rng, 3, graph.timesteps, channels)
    int_graph, report = quantize_for_xylo(graph, spikes)
    assert [layer["neuron"] for layer in report] == [n.name for n in int_graph.neurons()]
    hardware = get_backend("xylo").run(int_graph, spikes)
    assert hardware.hardware_steps == graph.timesteps + len(sizes)
    assert_traces_equal(simulate_fixed(int_graph, spikes), hardware.trace)


def test_a_saturating_layer_runs_alike_and_its_saturations_are_counted() -> None:
    rng = np.random.default_rng(3)
    graph = float_mlp([16, 20, 4], rng, current_decay=2.0**-6, voltage_decay=2.0**-8, gain=40.0)
    spikes = np.ones((2, graph.timesteps, 16), np.uint8) * 9
    int_graph, _ = quantize_for_xylo(graph, spikes)
    fixed = simulate_fixed(int_graph, spikes)
    assert sum(fixed.overflow["lif0"].values()) > 0
    assert fixed.layers["lif0"].spikes.max() > 1  # Xylo's multi-spike hidden neurons
    assert_traces_equal(fixed, get_backend("xylo").run(int_graph, spikes).trace)


def test_the_timeout_is_kept() -> None:
    rng = np.random.default_rng(0)
    graph = float_mlp([4, 6, 2], rng)
    spikes = latency_spikes(rng, 4, graph.timesteps, 4)
    int_graph, _ = quantize_for_xylo(graph, spikes)
    with pytest.raises(BackendError, match="timeout"):
        get_backend("xylo").run(int_graph, spikes, timeout=0.0)
