"""lava-dl ``.net`` files as slayer's tutorials write them: no ``input`` block and no ``simulation/tSample``.
latdeploy reads them as netx does (the network input feeds the first dense synapse) and runs them the same
as lava-dl's own ``netx.hdf5.Network`` in Lava, layer by layer (each dense block one step later)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from latdeploy.errors import ModelFormatError
from latdeploy.frontend.netx import read_netx
from latdeploy.ir import SpikeInput
from latdeploy.sim.fixed import simulate_fixed
from tests.frontend.test_netx import CUBA, _write_net

STEPS = 12


def _tutorial_net(path: Path) -> Path:
    rng = np.random.default_rng(3)
    layers = [
        {"type": "dense", "shape": [6], "weight": rng.integers(-60, 120, (6, 5)).astype(float), "neuron": CUBA},
        {"type": "dense", "shape": [3], "weight": rng.integers(-40, 100, (3, 6)).astype(float), "neuron": CUBA},
    ]
    return _write_net(path, layers, t_sample=None)


def test_a_net_file_without_input_block_or_tsample_reads_as_netx_does(tmp_path):
    path = _tutorial_net(tmp_path / "tutorial.net")
    with pytest.raises(ModelFormatError, match="no simulation/tSample; give the number of time steps"):
        read_netx(path)
    graph = read_netx(path, timesteps=STEPS)
    assert isinstance(graph.nodes[0], SpikeInput) and graph.input.size == 5 and len(graph.neurons()) == 2


def test_a_first_conv_layer_without_input_block_is_refused_with_the_reason(tmp_path):
    conv = {"type": "conv", "shape": [4, 4, 2], "weight": np.ones((2, 1, 3, 3)), "neuron": CUBA}
    with pytest.raises(ModelFormatError, match="no input layer, and a first conv layer does not say its input shape"):
        read_netx(_write_net(tmp_path / "conv.net", [conv], t_sample=None), timesteps=STEPS)


def test_a_tutorial_net_file_runs_the_same_as_netx_in_lava(tmp_path):
    netx = pytest.importorskip("lava.lib.dl.netx")
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc import io

    path = _tutorial_net(tmp_path / "tutorial.net")
    spikes = (np.random.default_rng(4).random((1, STEPS, 5)) < 0.5).astype(np.uint8)
    ours = simulate_fixed(read_netx(path, timesteps=STEPS), spikes)
    total = STEPS + 2  # layer k answers k steps later in Lava
    network = netx.hdf5.Network(net_config=str(path))
    ring = np.zeros((5, total), np.uint8)
    ring[:, :STEPS] = spikes[0].T
    source = io.source.RingBuffer(data=ring)
    source.s_out.connect(network.inp)
    sinks = [io.sink.RingBuffer(shape=layer.out.shape, buffer=total) for layer in network.layers]
    for layer, sink in zip(network.layers, sinks, strict=True):
        layer.out.connect(sink.a_in)
    try:
        network.run(condition=RunSteps(num_steps=total), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        theirs = [sink.data.get() for sink in sinks]
    finally:
        network.stop()
    for lag, (neuron, lava) in enumerate(zip(ours.layers.values(), theirs, strict=True), start=1):
        assert neuron.spikes.any()
        assert np.array_equal(neuron.spikes[0].T, lava[:, lag : lag + STEPS]), f"layer {lag} differs from netx"
