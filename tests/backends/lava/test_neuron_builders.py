"""Random integer networks of the extra neurons (graded edges included) through ``run_lava``, against
the fixed-point simulator: every layer's spikes and the output layer's u, v and v_pre, slot by slot."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from latdeploy.backends.lava import run_lava
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.profile import load_profile
from latdeploy.ir import DenseInt, Graph, LIFInt, SpikeInput
from latdeploy.ir.conv import AxonalDelay, Conv2dInt
from latdeploy.ir.neurons_ext import STATE_MAX, MultiThresholdLIFInt, SoftResetLIFInt, TTFSInt
from latdeploy.nn import neurons
from latdeploy.passes.quantize import quantize
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.sim.float_sim import simulate_float

KINDS = ("soft", "ttfs", "multi_zero", "multi_subtract", "lif")


def _neuron(kind: str, name: str, source: str, levels: int, fields: dict):
    if kind == "soft":
        return SoftResetLIFInt(name, (source,), **fields)
    if kind == "ttfs":
        return TTFSInt(name, (source,), **fields)
    if kind == "lif":
        return LIFInt(name, (source,), **fields)
    reset = "zero" if kind == "multi_zero" else "subtract"
    return MultiThresholdLIFInt(name, (source,), levels=levels, reset=reset, **fields)


@st.composite
def networks(draw):
    depth = draw(st.integers(1, 3))
    sizes = draw(st.lists(st.integers(1, 5), min_size=depth + 1, max_size=depth + 1))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=depth, max_size=depth))
    timesteps, samples = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    nodes: list = [SpikeInput("input", (), neurons=sizes[0])]
    previous = "input"
    for index, (n_in, n_out, kind) in enumerate(zip(sizes[:-1], sizes[1:], kinds, strict=True), start=1):
        weight = np.array(draw(st.lists(st.integers(-256, 255), min_size=n_in * n_out, max_size=n_in * n_out)))
        nodes.append(
            DenseInt(
                f"dense{index}",
                (previous,),
                weight=weight.reshape(n_out, n_in),
                weight_exp=draw(st.integers(-3, 7)),
                num_weight_bits=draw(st.integers(6, 8)),
            )
        )
        levels = draw(st.integers(2, 7))
        fields = {
            "du": draw(st.one_of(st.just(4095), st.integers(0, 4095))),
            "dv": draw(st.one_of(st.just(0), st.integers(0, 4095))),
            "vth": draw(st.one_of(st.integers(1, 300), st.integers(1, STATE_MAX // (levels << 6)))),
            "bias_mant": np.array(draw(st.lists(st.integers(-4096, 4095), min_size=n_out, max_size=n_out))),
            "bias_exp": draw(st.integers(0, 7)),
        }
        nodes.append(_neuron(kind, f"neuron{index}", f"dense{index}", levels, fields))
        previous = f"neuron{index}"
    flat = draw(
        st.lists(st.booleans(), min_size=samples * timesteps * sizes[0], max_size=samples * timesteps * sizes[0])
    )
    spikes = np.array(flat, np.uint8).reshape(samples, timesteps, sizes[0])
    return Graph(tuple(nodes), {"timesteps": timesteps}), spikes


def _assert_lava_equals_fixed(graph: Graph, spikes: np.ndarray) -> None:
    fixed = simulate_fixed(graph, spikes)
    lava = run_lava(graph, spikes)
    for name, layer in fixed.layers.items():
        assert np.array_equal(layer.spikes, lava.trace.layers[name].spikes), name
    for key in ("u", "v", "v_pre"):
        assert np.array_equal(getattr(fixed.output(), key), getattr(lava.trace.output(), key)), key


@settings(max_examples=6)
@given(case=networks())
def test_random_networks_equal_fixed_point(case):
    _assert_lava_equals_fixed(*case)


def test_graded_chain_uses_every_level():
    """A multi-threshold layer feeding a Dense with graded payloads 0..3 and a TTFS output."""
    rng = np.random.default_rng(7)
    graph = Graph(
        (
            SpikeInput("input", (), neurons=6),
            DenseInt("dense1", ("input",), weight=rng.integers(-30, 40, (5, 6))),
            MultiThresholdLIFInt("graded", ("dense1",), vth=30, levels=3, reset="subtract", bias_mant=np.zeros(5, int)),
            DenseInt("dense2", ("graded",), weight=rng.integers(-40, 120, (4, 5)), weight_exp=0),
            TTFSInt("out", ("dense2",), vth=200, dv=300, bias_mant=np.zeros(4, int)),
        ),
        {"timesteps": 5},
    )
    spikes = (rng.random((3, 5, 6)) < 0.6).astype(np.uint8)
    fixed = simulate_fixed(graph, spikes)
    assert set(np.unique(fixed.layers["graded"].spikes)) == {0, 1, 2, 3}
    assert fixed.layers["out"].spikes.any() and fixed.layers["out"].spikes.sum(axis=1).max() <= 1
    _assert_lava_equals_fixed(graph, spikes)


def test_graded_payloads_through_conv_and_axonal_delay():
    """Graded levels feed a Conv (``num_message_bits`` from the source layer) and pass an axonal delay."""
    rng = np.random.default_rng(11)
    geometry = {"in_channels": 2, "in_height": 4, "in_width": 4}
    graph = Graph(
        (
            SpikeInput("input", (), neurons=32),
            Conv2dInt(
                "conv1", ("input",), weight=rng.integers(-20, 60, (2, 2, 3, 3)), padding_h=1, padding_w=1, **geometry
            ),
            MultiThresholdLIFInt("graded", ("conv1",), vth=40, levels=3, bias_mant=np.zeros(32, int)),
            AxonalDelay("delay", ("graded",), neurons=32, steps=2),
            Conv2dInt(
                "conv2", ("delay",), weight=rng.integers(-30, 90, (3, 2, 2, 2)), stride_h=2, stride_w=2, **geometry
            ),
            LIFInt("out", ("conv2",), vth=80, bias_mant=np.zeros(12, int)),
        ),
        {"timesteps": 4},
    )
    spikes = (rng.random((2, 4, 32)) < 0.5).astype(np.uint8)
    fixed = simulate_fixed(graph, spikes)
    assert fixed.layers["graded"].spikes.max() >= 2 and fixed.layers["out"].spikes.any()
    _assert_lava_equals_fixed(graph, spikes)


def test_torch_model_to_lava_end_to_end():
    """torch (multi-threshold CUBA -> soft reset -> TTFS) -> IR -> quantize -> fixed point == Lava,
    and the integer network agrees with the float model on nearly every spike."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(10, 8, bias=False),
        neurons.MultiThresholdLIF(8, levels=3, threshold=0.5, current_decay=0.5, reset="subtract"),
        nn.Linear(8, 6, bias=False),
        neurons.LIF(6, threshold=0.75, reset="subtract", voltage_decay=0.125),
        nn.Linear(6, 4, bias=False),
        neurons.TTFSNeuron(4, threshold=0.5),
    )
    with torch.no_grad():
        for linear in model[0::2]:
            linear.weight.normal_(0.25, 0.5)
    graph = graph_from_module(model, {"timesteps": 5, "input_shape": [10]})
    rng = np.random.default_rng(0)
    spikes = (rng.random((24, 5, 10)) < 0.4).astype(np.uint8)
    integer, report = quantize(graph, load_profile("loihi2"), spikes)
    assert [type(n).__name__ for n in integer.neurons()] == ["MultiThresholdLIFInt", "SoftResetLIFInt", "TTFSInt"]
    float_trace, fixed = simulate_float(graph, spikes), simulate_fixed(integer, spikes)
    for name, layer in float_trace.layers.items():
        assert layer.spikes.any()
        assert (layer.spikes == fixed.layers[name].spikes).mean() >= 0.95, name
    _assert_lava_equals_fixed(integer, spikes[:4])
