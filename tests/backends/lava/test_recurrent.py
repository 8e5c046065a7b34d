"""Recurrent layers on real Lava (lava-nc ``Dense`` from a layer's ``s_out`` back to its ``a_in``,
Loihi2SimCfg fixed_pt) against the fixed-point simulator: 0 mismatches on spikes, ``u``, ``v``, ``v_pre``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.backends.lava import run_lava
from latdeploy.ir import (
    DenseInt,
    Graph,
    LIFInt,
    MultiThresholdLIFInt,
    RecurrentDenseInt,
    SoftResetLIFInt,
    SpikeInput,
    TTFSInt,
)
from latdeploy.sim.fixed import simulate_fixed


def _assert_lava_equals_fixed(graph: Graph, spikes: np.ndarray):
    fixed = simulate_fixed(graph, spikes)
    lava = run_lava(graph, spikes, timeout=300)
    for name, layer in fixed.layers.items():
        assert np.array_equal(layer.spikes, lava.trace.layers[name].spikes), name
    for key in ("u", "v", "v_pre"):
        assert np.array_equal(getattr(fixed.output(), key), getattr(lava.trace.output(), key)), key
    return fixed, lava


def _even(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(-128, 128, shape) * 2


def test_recurrent_layers_of_every_kind_match_lava_bit_for_bit():
    """Three recurrent layers (stock LIF, soft reset, graded multi-threshold) and a recurrent TTFS output,
    several samples in one run: the loop carries no spike across samples."""
    rng = np.random.default_rng(11)
    sizes = (5, 6, 6, 5, 4)
    layers = [
        lambda name, inp, n: LIFInt(name, (inp,), du=3000, dv=300, vth=60, bias_mant=rng.integers(-20, 60, n)),
        lambda name, inp, n: SoftResetLIFInt(name, (inp,), du=4095, dv=100, vth=80, bias_mant=rng.integers(0, 40, n)),
        lambda name, inp, n: MultiThresholdLIFInt(
            name, (inp,), du=2000, dv=0, vth=40, levels=3, reset="subtract", bias_mant=rng.integers(0, 30, n)
        ),
        lambda name, inp, n: TTFSInt(name, (inp,), du=4095, dv=0, vth=90, bias_mant=rng.integers(0, 30, n)),
    ]
    nodes: list = [SpikeInput("input", (), neurons=sizes[0])]
    previous = "input"
    for index, (make, n_in, n_out) in enumerate(zip(layers, sizes[:-1], sizes[1:], strict=True), start=1):
        nodes.append(DenseInt(f"dense{index}", (previous,), weight=_even(rng, (n_out, n_in))))
        nodes.append(make(f"layer{index}", f"dense{index}", n_out))
        nodes.append(RecurrentDenseInt(f"rec{index}", (f"layer{index}",), weight=_even(rng, (n_out, n_out))))
        previous = f"layer{index}"
    graph = Graph(tuple(nodes), {"timesteps": 7})
    spikes = (rng.random((3, 7, sizes[0])) < 0.5).astype(np.uint8)
    fixed, _ = _assert_lava_equals_fixed(graph, spikes)
    assert all(layer.spikes.any() for layer in fixed.layers.values())
    without = Graph(tuple(n for n in nodes if not isinstance(n, RecurrentDenseInt)), {"timesteps": 7})
    assert not np.array_equal(simulate_fixed(without, spikes).output().spikes, fixed.output().spikes)


@st.composite
def recurrent_networks(draw):
    """A recurrent LIF layer feeding a (maybe recurrent) output layer, parameters over their full ranges."""
    n_in, hidden, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 4))
    timesteps, samples = draw(st.integers(1, 5)), draw(st.integers(1, 3))

    def matrix(rows, columns):
        flat = draw(st.lists(st.integers(-256, 254), min_size=rows * columns, max_size=rows * columns))
        return np.array(flat).reshape(rows, columns)

    def neuron(name, inp, size):
        return LIFInt(
            name,
            (inp,),
            du=draw(st.integers(-1, 4095)),
            dv=draw(st.integers(0, 4096)),
            vth=draw(st.one_of(st.integers(0, 300), st.integers(0, (1 << 17) - 1))),
            bias_mant=np.array(draw(st.lists(st.integers(-4096, 4095), min_size=size, max_size=size))),
            bias_exp=draw(st.integers(0, 7)),
        )

    def synapse(cls, name, inp, rows, columns):
        return cls(
            name,
            (inp,),
            weight=matrix(rows, columns),
            weight_exp=draw(st.integers(-8, 7)),
            num_weight_bits=draw(st.integers(1, 8)),
        )

    nodes = [
        SpikeInput("input", (), neurons=n_in),
        synapse(DenseInt, "dense1", "input", hidden, n_in),
        neuron("lif1", "dense1", hidden),
        synapse(RecurrentDenseInt, "rec1", "lif1", hidden, hidden),
        synapse(DenseInt, "dense2", "lif1", n_out, hidden),
        neuron("lif2", "dense2", n_out),
    ]
    if draw(st.booleans()):
        nodes.append(synapse(RecurrentDenseInt, "rec2", "lif2", n_out, n_out))
    flat = draw(st.lists(st.booleans(), min_size=samples * timesteps * n_in, max_size=samples * timesteps * n_in))
    return Graph(tuple(nodes), {"timesteps": timesteps}), np.array(flat, np.uint8).reshape(samples, timesteps, n_in)


@pytest.mark.slow
@settings(max_examples=8, deadline=None)
@given(recurrent_networks())
def test_random_recurrent_networks_match_lava_bit_for_bit(network):
    _assert_lava_equals_fixed(*network)
