"""Real Lava (lava-nc, Loihi2SimCfg fixed_pt) against the fixed-point simulator, slot by slot."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.backends.lava import run_lava
from latdeploy.ir import DenseInt, Graph, LIFInt, SpikeInput
from latdeploy.sim.fixed import simulate_fixed


def _assert_lava_equals_fixed(graph: Graph, spikes: np.ndarray):
    fixed = simulate_fixed(graph, spikes)
    lava = run_lava(graph, spikes)
    for name, layer in fixed.layers.items():
        assert np.array_equal(layer.spikes, lava.trace.layers[name].spikes), name
    for key in ("u", "v", "v_pre"):
        assert np.array_equal(getattr(fixed.output(), key), getattr(lava.trace.output(), key)), key
    assert lava.hardware_steps == spikes.shape[0] * spikes.shape[1] + len(graph.neurons())
    return fixed, lava


@st.composite
def random_networks(draw):
    """Random dense chains with every parameter drawn over its full hardware range."""
    sizes = draw(st.lists(st.integers(1, 6), min_size=2, max_size=4))
    timesteps = draw(st.integers(1, 5))
    samples = draw(st.integers(1, 3))
    nodes: list = [SpikeInput("input", (), neurons=sizes[0])]
    previous = "input"
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        weight = np.array(draw(st.lists(st.integers(-256, 255), min_size=n_in * n_out, max_size=n_in * n_out)))
        nodes.append(
            DenseInt(
                f"dense{index}",
                (previous,),
                weight=weight.reshape(n_out, n_in),
                weight_exp=draw(st.integers(-8, 7)),
                num_weight_bits=draw(st.integers(1, 8)),
            )
        )
        nodes.append(
            LIFInt(
                f"lif{index}",
                (f"dense{index}",),
                du=draw(st.one_of(st.sampled_from([-1, 4095]), st.integers(-1, 4095))),  # -1: netx's iDecay 0
                dv=draw(st.one_of(st.sampled_from([0, 4096]), st.integers(0, 4096))),
                vth=draw(st.one_of(st.integers(0, 300), st.integers(0, (1 << 17) - 1), st.just(1 << 17))),
                bias_mant=np.array(draw(st.lists(st.integers(-4096, 4095), min_size=n_out, max_size=n_out))),
                bias_exp=draw(st.integers(0, 7)),
            )
        )
        previous = f"lif{index}"
    flat = draw(
        st.lists(st.booleans(), min_size=samples * timesteps * sizes[0], max_size=samples * timesteps * sizes[0])
    )
    spikes = np.array(flat, np.uint8).reshape(samples, timesteps, sizes[0])
    return Graph(tuple(nodes), {"timesteps": timesteps}), spikes


@settings(max_examples=12)
@given(random_networks())
def test_random_networks_match_lava_bit_for_bit(network):
    _assert_lava_equals_fixed(*network)


@pytest.mark.parametrize(
    ("weight_exp", "du", "counter"),
    [(7, 0, "u_wraps"), (6, 4095, "v_saturations")],
    ids=["u-wraps-at-24-bits", "v-saturates"],
)
def test_overflow_corners_match_lava_and_are_counted(weight_exp, du, counter):
    """Lava and the simulator agree where u wraps or v saturates, and the event is counted."""
    graph = Graph(
        (
            SpikeInput("input", (), neurons=8),
            DenseInt("dense1", ("input",), weight=np.full((3, 8), 255, np.int32), weight_exp=weight_exp),
            LIFInt(
                "lif1", ("dense1",), du=du, dv=0, vth=(1 << 17) - 1, bias_mant=np.array([4095, -4096, 0]), bias_exp=7
            ),
        ),
        {"timesteps": 4},
    )
    fixed, _ = _assert_lava_equals_fixed(graph, np.ones((2, 4, 8), np.uint8))
    assert fixed.overflow["lif1"][counter] > 0


def test_samples_are_independent_in_one_run():
    """Each sample starts from reset state: the batched Lava run equals single-sample runs."""
    rng = np.random.default_rng(7)
    graph = Graph(
        (
            SpikeInput("input", (), neurons=4),
            DenseInt("dense1", ("input",), weight=rng.integers(-256, 256, (5, 4))),
            LIFInt("lif1", ("dense1",), du=3000, dv=200, vth=150, bias_mant=rng.integers(-100, 200, 5)),
            DenseInt("dense2", ("lif1",), weight=rng.integers(-256, 256, (3, 5))),
            LIFInt("lif2", ("dense2",), du=4095, dv=0, vth=100, bias_mant=rng.integers(0, 100, 3)),
        ),
        {"timesteps": 3},
    )
    spikes = (rng.random((3, 3, 4)) < 0.5).astype(np.uint8)
    _, batched = _assert_lava_equals_fixed(graph, spikes)
    single = run_lava(graph, spikes[2:])
    assert np.array_equal(batched.trace.output().spikes[2:], single.trace.output().spikes)
    assert np.array_equal(batched.trace.output().v[2:], single.trace.output().v)


def test_the_models_given_to_lava_are_the_ones_its_own_search_selects():
    """run_lava names the models of Lava's stock synapses, its source and gates (Lava's search
    re-executes every module of a Process's directory per instance); Lava's own search and selection
    pick the same."""
    from latdeploy.backends.lava.runner import stock_process_models
    from latdeploy.backends.lava.selection import lava_selected_model

    for process_class, model in stock_process_models().items():
        assert lava_selected_model(process_class) is model, process_class.__name__
