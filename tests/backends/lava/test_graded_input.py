"""Graded input payloads (STC event counts) reach the first synapse in real Lava as in the fixed-point simulator.

The input ``RingBuffer`` sends int32 payloads as they are; Lava's ``Dense``/``Conv``
(``fixed_pt``) multiply them with the weights only when ``num_message_bits > 0`` and
binarize them otherwise, so the runner must give the first synapse enough message bits.
"""

from __future__ import annotations

import numpy as np
import pytest

from latdeploy.backends.lava import run_lava
from latdeploy.ir import DenseInt, Graph, SpikeInput
from latdeploy.ir.conv import Conv2dInt
from latdeploy.ir.neurons_ext import MultiThresholdLIFInt
from latdeploy.sim.fixed import simulate_fixed

pytest.importorskip("lava.magma.core.run_configs")


def _neuron(name: str, source: str, size: int) -> MultiThresholdLIFInt:
    # CUBA: current decay 0.5 (du = 2047 with Lava's +1 offset), no voltage leak, 3 levels
    return MultiThresholdLIFInt(
        name, (source,), du=2047, dv=0, vth=2000, bias_mant=np.zeros(size, np.int32), bias_exp=6, levels=3
    )


def _assert_equal(graph: Graph, spikes: np.ndarray) -> None:
    fixed = simulate_fixed(graph, spikes)
    lava = run_lava(graph, spikes)
    payloads = np.concatenate([layer.spikes.ravel() for layer in fixed.layers.values()])
    assert len(np.unique(payloads)) >= 3  # the test exercises several payload levels
    for name, layer in fixed.layers.items():
        assert np.array_equal(layer.spikes, lava.trace.layers[name].spikes), name
    for key in ("u", "v", "v_pre"):
        assert np.array_equal(getattr(fixed.output(), key), getattr(lava.trace.output(), key)), key


def test_graded_input_dense_multi_threshold_cuba_matches_lava():
    rng = np.random.default_rng(0)
    n_in, n_out = 6, 4
    weight = rng.integers(-40, 80, (n_out, n_in)) * 2
    graph = Graph(
        (
            SpikeInput("input", (), neurons=n_in, encoding="stc"),
            DenseInt("dense1", ("input",), weight=weight, weight_exp=0, num_weight_bits=8),
            _neuron("lif1", "dense1", n_out),
        ),
        {"timesteps": 3},
    )
    spikes = rng.integers(0, 16, (2, 3, n_in)).astype(np.uint8)  # event counts 0..15
    _assert_equal(graph, spikes)


def test_graded_input_conv_multi_threshold_cuba_matches_lava():
    rng = np.random.default_rng(1)
    weight = rng.integers(-30, 60, (2, 2, 3, 3)) * 2
    conv = Conv2dInt(
        "conv1", ("input",), weight=weight, in_channels=2, in_height=4, in_width=4, padding_h=1, padding_w=1
    )
    graph = Graph(
        (SpikeInput("input", (), neurons=32, encoding="stc"), conv, _neuron("lif1", "conv1", conv.size)),
        {"timesteps": 3},
    )
    spikes = rng.integers(0, 16, (2, 3, 32)).astype(np.uint8)
    _assert_equal(graph, spikes)
