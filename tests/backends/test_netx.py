from __future__ import annotations

import numpy as np
import pytest

import latdeploy
from latdeploy.backends.netx import NETX_NEURONS, NETX_SYNAPSES, effective_weight, write_netx
from latdeploy.errors import QuantizationRangeError, UnsupportedLayerError
from latdeploy.frontend.netx import read_netx
from latdeploy.ir import DenseInt, Graph, LIFInt, SpikeInput
from latdeploy.ir.netx_nodes import DelayDenseInt
from latdeploy.sim.fixed import simulate_fixed
from tests.conftest import int_graph


def _shipped_integer_graph(path):
    from latdeploy.data import load_split
    from latdeploy.flows.prepare import encode
    from latdeploy.frontend.torch_module import graph_from_module
    from latdeploy.hw.profile import load_profile
    from latdeploy.passes.quantize import quantize

    model, metadata = latdeploy.load(path)
    train = load_split(metadata["dataset"], "train")
    graph, _ = quantize(graph_from_module(model, metadata), load_profile("loihi2"), encode(model, train.x[:128]))
    test = load_split(metadata["dataset"], "test")
    return graph, encode(model, test.x[:3])


def _run_netx(path, spikes: np.ndarray, timesteps: int, layers: int) -> np.ndarray:
    """Run ``path`` in lava-dl's netx.hdf5.Network (Lava fixed_pt) with latdeploy's per-sample resets."""
    netx = pytest.importorskip("lava.lib.dl.netx")
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc import io

    samples, _, fan_in = spikes.shape
    steps = samples * timesteps + layers
    stream = np.zeros((fan_in, steps), np.int32)
    stream[:, : samples * timesteps] = spikes.transpose(2, 0, 1).reshape(fan_in, -1)
    network = netx.hdf5.Network(net_config=str(path), reset_interval=timesteps, reset_offset=1)
    if len(network.inp.shape) == 3:  # netx's (X, Y, C) input of a conv layer; the IR's flat order is (C, Y, X)
        width, height, channels = network.inp.shape
        stream = stream.reshape(channels, height, width, steps).transpose(2, 1, 0, 3)
    source = io.source.RingBuffer(data=stream)
    sink = io.sink.RingBuffer(shape=network.out.shape, buffer=steps)
    source.s_out.connect(network.inp)
    network.out.connect(sink.a_in)
    try:
        network.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        return sink.data.get().astype(np.int64)
    finally:
        network.stop()


def test_written_shipped_model_runs_in_netx_like_latdeploys_lava_backend(shipped_model_path, tmp_path):
    from latdeploy.backends.lava import run_lava

    graph, spikes = _shipped_integer_graph(shipped_model_path)
    path = write_netx(graph, tmp_path / "digits.net")
    netx_output = _run_netx(path, spikes, graph.timesteps, len(graph.neurons()))
    lava = run_lava(graph, spikes)
    output = graph.neurons()[-1].name
    assert lava.hardware[output].sum() > 0
    assert np.array_equal(netx_output, lava.hardware[output])


def test_written_file_reads_back_to_the_same_integer_behaviour(tmp_path):
    rng = np.random.default_rng(5)
    graph = int_graph(rng, (6, 5, 4), timesteps=7, du=100, dv=200, vth=50)
    path = write_netx(graph, tmp_path / "g.net")
    back = read_netx(path)
    assert back.timesteps == 7 and [type(n) for n in back.nodes] == [type(n) for n in graph.nodes]
    for original, loaded in zip(graph.nodes[1:], back.nodes[1:], strict=True):
        if isinstance(original, DenseInt):
            assert np.array_equal(effective_weight(original), effective_weight(loaded))
        else:
            assert (original.du, original.dv, original.vth) == (loaded.du, loaded.dv, loaded.vth)
    spikes = (rng.random((2, 7, 6)) < 0.5).astype(np.uint8)
    for name, layer in simulate_fixed(graph, spikes).layers.items():
        assert np.array_equal(layer.spikes, simulate_fixed(back, spikes).layers[name.replace("lif", "layer")].spikes)


def test_delays_and_exponents_are_written_exactly(tmp_path):
    weight = np.array([[64, -128, 32], [0, 64, -64]])
    delay = np.array([[3, 0, 1], [2, 2, 5]])
    nodes = [
        SpikeInput("in", (), neurons=3),
        DelayDenseInt("syn", ("in",), weight=weight, delay=delay, weight_exp=-5, num_weight_bits=8),
        LIFInt("out", ("syn",), du=4095, dv=0, vth=3, bias_mant=np.array([2, -4]), bias_exp=5),
    ]
    graph = Graph(tuple(nodes), {"timesteps": 9})
    back = read_netx(write_netx(graph, tmp_path / "d.net"))
    synapse, neuron = back.nodes[1], back.nodes[2]
    assert np.array_equal(synapse.delay, delay) and np.array_equal(neuron.bias_mant, [1, -2])
    spikes = (np.random.default_rng(0).random((3, 9, 3)) < 0.6).astype(np.uint8)
    assert np.array_equal(simulate_fixed(graph, spikes).output().spikes, simulate_fixed(back, spikes).output().spikes)


def test_layers_without_an_exact_netx_form_are_refused(tmp_path):
    graph = int_graph(np.random.default_rng(1), (3, 2), timesteps=4)
    odd = Graph(
        (
            graph.nodes[0],
            DenseInt("dense1", ("input",), weight=np.array([[6, -10, 14], [2, 4, -18]]), weight_exp=-2),
            graph.nodes[2],
        ),
        graph.metadata,
    )
    with pytest.raises(QuantizationRangeError, match="'dense1'.*weight_exp -2"):
        write_netx(odd, tmp_path / "x.net")
    big_bias = graph.replace_nodes(
        [n.replace(bias_mant=np.array([4000, 0]), bias_exp=7) if isinstance(n, LIFInt) else n for n in graph.nodes]
    )
    with pytest.raises(QuantizationRangeError, match="'lif1'.*13-bit"):
        write_netx(big_bias, tmp_path / "y.net")
    from latdeploy.ir import LIF, Dense

    float_graph = Graph(
        (graph.nodes[0], Dense("d", ("input",), weight=np.ones((2, 3))), LIF("l", ("d",), bias=np.zeros(2))),
        {"timesteps": 4},
    )
    with pytest.raises(UnsupportedLayerError, match="'d'.*Dense cannot be written to netx"):
        write_netx(float_graph, tmp_path / "z.net")
    assert not list(tmp_path.iterdir())


def test_conv_graph_written_runs_in_netx_like_latdeploys_lava_backend(tmp_path):
    from latdeploy.backends.lava import run_lava
    from latdeploy.ir import Conv2dInt

    rng = np.random.default_rng(12)
    conv = Conv2dInt("conv", ("input",), weight=rng.integers(-256, 256, (4, 2, 3, 3)), in_channels=2, in_height=6,
                     in_width=5, stride_h=2, padding_w=1)  # fmt: skip
    nodes = [
        SpikeInput("input", (), neurons=60),
        conv,
        LIFInt(
            "lif1", ("conv",), du=4095, dv=300, vth=200, bias_mant=np.repeat(rng.integers(-20, 20, 4), conv.size // 4)
        ),
        DenseInt("dense", ("lif1",), weight=rng.integers(-128, 128, (3, conv.size)) * 2),
        LIFInt("lif2", ("dense",), du=2000, dv=100, vth=150, bias_mant=np.zeros(3, np.int32)),
    ]
    graph = Graph(tuple(nodes), {"timesteps": 5})
    path = write_netx(graph, tmp_path / "conv.net")
    spikes = (rng.random((2, 5, 60)) < 0.4).astype(np.uint8)
    back = read_netx(path)
    assert [type(n).__name__ for n in back.nodes] == ["SpikeInput", "Conv2dInt", "LIFInt", "DenseInt", "LIFInt"]
    for name in ("lif1", "lif2"):
        ours = simulate_fixed(graph, spikes).layers[name].spikes
        assert np.array_equal(
            ours, simulate_fixed(back, spikes).layers[{"lif1": "layer1", "lif2": "layer3"}[name]].spikes
        )
    netx_output = _run_netx(path, spikes, graph.timesteps, 2)
    lava = run_lava(graph, spikes)
    assert lava.hardware["lif1"].sum() > 0
    assert np.array_equal(netx_output, lava.hardware["lif2"])


def test_netx_writers_are_registered_per_node_class():
    assert NETX_SYNAPSES.names() == ["Conv2dInt", "DelayDenseInt", "DenseInt"] and NETX_NEURONS.names() == ["LIFInt"]
    with pytest.raises(UnsupportedLayerError, match=r"^node 'l': no netx synapse writer for LIFInt; supported: "):
        effective_weight(LIFInt("l", ("input",), bias_mant=np.zeros(2, np.int32)))
