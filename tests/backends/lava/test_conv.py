"""Real Lava (``Conv``, ``DelayDense`` relay, ``Dense``, ``LIFReset``; fixed_pt) against the
fixed-point simulator on random conv / pool / delay networks, slot by slot."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.backends.lava import run_lava
from latdeploy.ir import AxonalDelay, Conv2dInt, DenseInt, Graph, LIFInt, SpikeInput
from latdeploy.sim.fixed import simulate_fixed


def _lif(draw, name: str, source: str, size: int) -> LIFInt:
    return LIFInt(
        name,
        (source,),
        du=draw(st.sampled_from([4095, 0, 1000, 4094])),
        dv=draw(st.sampled_from([0, 4095, 300])),
        vth=draw(st.one_of(st.integers(0, 400), st.integers(0, (1 << 17) - 1))),
        bias_mant=np.array(draw(st.lists(st.integers(-4096, 4095), min_size=size, max_size=size))),
        bias_exp=draw(st.integers(0, 7)),
    )


@st.composite
def conv_networks(draw):
    """input -> conv -> LIF -> [delay] -> pool or conv -> LIF -> dense -> LIF.

    The dense layer's ``weight_exp`` reaches +7, where ``u`` wraps and ``v`` saturates."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    channels, height, width = draw(st.integers(1, 2)), draw(st.integers(3, 5)), draw(st.integers(3, 5))
    timesteps, samples = draw(st.integers(2, 4)), draw(st.integers(1, 2))
    groups = draw(st.sampled_from([1, channels]))
    out_channels = groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    conv = Conv2dInt(
        "conv1",
        ("input",),
        weight=rng.integers(-256, 256, (out_channels, channels // groups, *kernel)),
        in_channels=channels,
        in_height=height,
        in_width=width,
        stride_h=draw(st.integers(1, 2)),
        stride_w=draw(st.integers(1, 2)),
        padding_h=draw(st.integers(0, 1)),
        padding_w=draw(st.integers(0, 1)),
        groups=groups,
    )
    nodes: list = [SpikeInput("input", (), neurons=channels * height * width), conv]
    nodes.append(_lif(draw, "lif1", "conv1", conv.size))
    previous = "lif1"
    if draw(st.booleans()):
        nodes.append(AxonalDelay("delay1", (previous,), neurons=conv.size, steps=draw(st.integers(1, 3))))
        previous = "delay1"
    c, h, w = conv.out_shape
    pool_kernel = (min(2, h), min(2, w))
    if draw(st.booleans()):  # a pool as Lava deploys it: depthwise conv, equal weights
        second = Conv2dInt(
            "pool1", (previous,), weight=np.full((c, 1, *pool_kernel), draw(st.sampled_from([1, 64, 255]))),
            in_channels=c, in_height=h, in_width=w, stride_h=pool_kernel[0], stride_w=pool_kernel[1], groups=c,
        )  # fmt: skip
    else:
        second = Conv2dInt(
            "pool1", (previous,), weight=rng.integers(-256, 256, (2, c, *pool_kernel)),
            in_channels=c, in_height=h, in_width=w, padding_h=1,
        )  # fmt: skip
    nodes += [second, _lif(draw, "lif2", "pool1", second.size)]
    dense = DenseInt(
        "dense3",
        ("lif2",),
        weight=rng.integers(-256, 256, (3, second.size)),
        weight_exp=draw(st.integers(-8, 7)),
        num_weight_bits=draw(st.integers(1, 8)),
    )
    nodes += [dense, _lif(draw, "lif3", "dense3", 3)]
    spikes = (rng.random((samples, timesteps, channels * height * width)) < draw(st.sampled_from([0.2, 0.6]))).astype(
        np.uint8
    )
    return Graph(tuple(nodes), {"timesteps": timesteps}), spikes


@given(network=conv_networks())
@settings(max_examples=4)
def test_lava_conv_pool_delay_networks_equal_fixed_point_slot_by_slot(network):
    graph, spikes = network
    fixed = simulate_fixed(graph, spikes)
    lava = run_lava(graph, spikes)
    assert lava.trace.layers.keys() == fixed.layers.keys()
    for name, layer in fixed.layers.items():
        assert np.array_equal(layer.spikes, lava.trace.layers[name].spikes), name
    for key in ("u", "v", "v_pre"):
        assert np.array_equal(getattr(fixed.output(), key), getattr(lava.trace.output(), key)), key
    samples, timesteps = spikes.shape[:2]
    assert lava.hardware_steps == samples * (timesteps + graph.max_delay()) + 3


def test_delayed_spikes_do_not_leak_into_the_next_sample():
    """A delay longer than the sample: the run pads each sample, so sample 2 sees none of sample 1."""
    nodes = (
        SpikeInput("input", (), neurons=1),
        AxonalDelay("delay1", ("input",), neurons=1, steps=3),
        DenseInt("dense1", ("delay1",), weight=np.array([[2]])),
        LIFInt("lif1", ("dense1",), vth=0, bias_mant=np.zeros(1, np.int32)),
    )
    graph = Graph(nodes, {"timesteps": 4})
    spikes = np.zeros((2, 4, 1), np.uint8)
    spikes[0, 2, 0] = 1  # delayed to step 5: past the first sample's 4 steps
    spikes[1, 0, 0] = 1  # delayed to step 3 of the second sample
    fixed = simulate_fixed(graph, spikes)
    lava = run_lava(graph, spikes)
    expected = np.zeros((2, 4, 1), np.uint8)
    expected[1, 3, 0] = 1
    assert np.array_equal(fixed.output().spikes, expected)
    assert np.array_equal(lava.trace.output().spikes, expected)
    assert lava.hardware_steps == 2 * (4 + 3) + 1


def _biased_delay_network() -> Graph:
    """Hypothesis's falsifying example: ``lif1``'s bias fires it at hardware step 0, before
    its first reset; behind ``delay1`` that spike reached ``lif2``'s window."""
    nodes = (
        SpikeInput("input", (), neurons=12),
        Conv2dInt(
            "conv1", ("input",), weight=np.array([[[[-92, 44]]]]), in_channels=1, in_height=3, in_width=4,
            stride_h=2, stride_w=2, padding_h=1, padding_w=1,
        ),
        LIFInt(
            "lif1", ("conv1",), du=4094, dv=0, vth=399,
            bias_mant=np.array([2994, 1272, 387, -2591, 812, 758, -220, 13, -168]), bias_exp=5,
        ),
        AxonalDelay("delay1", ("lif1",), neurons=9, steps=1),
        Conv2dInt(
            "pool1", ("delay1",), weight=np.full((1, 1, 2, 2), 64), in_channels=1, in_height=3, in_width=3,
            stride_h=2, stride_w=2,
        ),
        LIFInt("lif2", ("pool1",), du=1000, dv=0, vth=419, bias_mant=np.array([-421]), bias_exp=1),
        DenseInt("dense3", ("lif2",), weight=np.array([[-78], [-189], [230]]), weight_exp=7, num_weight_bits=2),
        LIFInt("lif3", ("dense3",), du=0, dv=4095, vth=15378, bias_mant=np.array([631, 969, -325]), bias_exp=3),
    )  # fmt: skip
    return Graph(nodes, {"timesteps": 3})


def test_biased_neurons_feeding_a_delay_send_nothing_outside_their_windows():
    """Pre-window (before the first reset) and padding spikes of a biased layer must not
    cross a delay into the next layer's window: one sample (the falsifying example) and
    two (the first sample's padding spikes would land in the second's window)."""
    graph = _biased_delay_network()
    first = np.array(
        [
            [
                [1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0],
                [1, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1],
                [0, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1],
            ]
        ],
        np.uint8,
    )
    for spikes in (first, np.concatenate([first, first[:, ::-1]])):
        fixed = simulate_fixed(graph, spikes)
        lava = run_lava(graph, spikes)
        assert lava.hardware["lif1"][:, 0].any()  # lif1 does fire before its window: the gate must drop it
        for name, layer in fixed.layers.items():
            assert np.array_equal(layer.spikes, lava.trace.layers[name].spikes), name
        for key in ("u", "v", "v_pre"):
            assert np.array_equal(getattr(fixed.output(), key), getattr(lava.trace.output(), key)), key
