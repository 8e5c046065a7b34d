from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from latdeploy.errors import ModelFormatError, QuantizationRangeError, UnsupportedLayerError
from latdeploy.frontend.netx import NETX_LAYER_READERS, optimize_weight_bits, read_netx
from latdeploy.ir import DenseInt, LIFInt, SpikeInput
from latdeploy.ir.netx_nodes import DelayDenseInt
from latdeploy.sim.fixed import simulate_fixed

NETX_TESTS = Path(__file__).resolve().parents[2] / ".venv/lib/python3.10/site-packages/tests/lava/lib/dl/netx"
NTIDIGITS = NETX_TESTS / "gts" / "ntidigits"
needs_netx_files = pytest.mark.skipif(not NTIDIGITS.is_dir(), reason="lava-dl's netx test networks are not installed")


def _lava_dl_optimize():
    netx_utils = pytest.importorskip("lava.lib.dl.netx.utils")
    return netx_utils.optimize_weight_bits


@needs_netx_files
def test_ntidigits_imports_with_netx_parameters():
    graph = read_netx(NTIDIGITS / "ntidigits.net")
    kinds = [type(n) for n in graph.nodes]
    assert kinds == [SpikeInput, DelayDenseInt, LIFInt, DelayDenseInt, LIFInt, DenseInt, LIFInt]
    assert graph.timesteps == 3000 and graph.input.size == 64
    assert graph.metadata["readout"] == {"kind": "average", "layer": 5, "groups": 11}
    with h5py.File(NTIDIGITS / "ntidigits.net") as handle:
        file_delay = handle["layer/2/delay"][()]
        file_weight = handle["layer/3/weight"][()]
    first = graph.node("layer2_synapse")
    assert np.array_equal(first.delay[:, 0], file_delay.astype(int)) and (first.delay == first.delay[:, :1]).all()
    optimized, bits, exponent, _ = _lava_dl_optimize()(file_weight.astype(int))
    second = graph.node("layer3_synapse")
    assert np.array_equal(second.weight, optimized) and (second.num_weight_bits, second.weight_exp) == (bits, exponent)
    neuron = graph.node("layer2")
    assert (neuron.du, neuron.dv, neuron.vth, neuron.bias_exp) == (1023, 1024, 80, 6)


@needs_netx_files
def test_ntidigits_fixed_point_equals_recorded_lava_output():
    """All 3000 steps: the recording is the output layer 4 steps late (3 synapses + the recorder's own step)."""
    graph = read_netx(NTIDIGITS / "ntidigits.net")
    spikes = np.load(NTIDIGITS / "input.npy").T[None].astype(np.uint8)
    recorded = np.load(NTIDIGITS / "output.npy")
    output = simulate_fixed(graph, spikes).output().spikes[0].T
    assert recorded.sum() > 20000
    assert np.array_equal(output[:, :-4], recorded[:, 4:])


@given(
    st.integers(-256, 254),
    st.integers(-256, 255),
    st.integers(0, 3),
    st.integers(0, 2**32 - 1),
)
def test_optimize_weight_bits_equals_lava_dl(low, high, zero_bits, seed):
    lava_dl = _lava_dl_optimize()
    if low > high:
        low, high = high, low
    rng = np.random.default_rng(seed)
    weight = (rng.integers(low, high + 1, (5, 7)) >> zero_bits) << zero_bits
    try:
        ours = optimize_weight_bits(weight)
    except QuantizationRangeError:
        return  # cases netx mangles (all zero, 9 bits) are refused, checked below
    theirs = lava_dl(weight.copy())
    assert np.array_equal(ours[0], theirs[0]) and ours[1:] == tuple(theirs[1:3])


def test_optimize_weight_bits_refuses_what_the_ir_cannot_hold():
    with pytest.raises(QuantizationRangeError, match="all weights are zero"):
        optimize_weight_bits(np.zeros((2, 2), int))
    with pytest.raises(QuantizationRangeError, match="9"):
        optimize_weight_bits(np.array([[-3, 253]]))
    with pytest.raises(QuantizationRangeError, match="255"):
        optimize_weight_bits(np.array([[3, 300]]))


def _write_net(path: Path, layers: list[dict], t_sample: int | None = 5) -> Path:
    def put(group, key, value):
        if isinstance(value, dict):
            sub = group.create_group(key)
            for k, v in value.items():
                put(sub, k, v)
        elif isinstance(value, str):
            group.create_dataset(key, data=[np.bytes_(value)])
        else:
            group.create_dataset(key, data=value)

    with h5py.File(path, "w") as handle:
        for index, layer in enumerate(layers):
            group = handle.require_group("layer").create_group(str(index))
            for key, value in layer.items():
                put(group, key, value)
        if t_sample is not None:
            handle.create_group("simulation").create_dataset("tSample", data=t_sample)
    return path


CUBA = {"type": "CUBA", "iDecay": 4096, "vDecay": 0, "vThMant": 10, "refDelay": 1, "gradedSpike": False}


def test_errors_name_the_layer(tmp_path):
    dense = {"type": "dense", "shape": [2], "weight": np.array([[2.0, -4.0, 6.0]]).repeat(2, 0), "neuron": CUBA}
    pool = {"type": "pool", "shape": [2, 1, 1]}
    with pytest.raises(UnsupportedLayerError, match="layer 1: netx layer type 'pool'"):
        read_netx(_write_net(tmp_path / "p.net", [{"type": "input", "shape": [3]}, pool]))
    conv = {"type": "conv", "shape": [2, 1, 1], "weight": np.ones((2, 3, 1, 1)), "neuron": CUBA}
    with pytest.raises(ModelFormatError, match="layer 1: conv needs a .C, H, W. input"):
        read_netx(_write_net(tmp_path / "c.net", [{"type": "input", "shape": [3]}, conv]))
    dilated = {**conv, "dilation": np.array([2, 2])}
    with pytest.raises(UnsupportedLayerError, match="layer 1: dilation"):
        read_netx(_write_net(tmp_path / "d.net", [{"type": "input", "shape": [3, 1, 1]}, dilated]))
    sdnn = {**dense, "neuron": {**CUBA, "type": "SDNN"}}
    with pytest.raises(UnsupportedLayerError, match="layer 1: neuron type 'SDNN'"):
        read_netx(_write_net(tmp_path / "s.net", [{"type": "input", "shape": [3]}, sdnn]))
    with pytest.raises(ModelFormatError, match="tSample"):
        read_netx(_write_net(tmp_path / "t.net", [{"type": "input", "shape": [3]}, dense], t_sample=None))
    (tmp_path / "bad.net").write_bytes(b"not hdf5")
    with pytest.raises(ModelFormatError, match="bad.net: not a readable netx"):
        read_netx(tmp_path / "bad.net")
    with pytest.raises(ModelFormatError, match="no such"):
        read_netx(tmp_path / "missing.net")


def test_bias_delay_layouts_and_graded_flag(tmp_path):
    weight = np.array([[2.0, -4.0, 6.0], [8.0, 2.0, -2.0]])
    layers = [
        {"type": "input", "shape": [3]},
        {
            "type": "dense",
            "shape": [2],
            "weight": weight,
            "bias": np.array([3.7, -2.0]),
            "delay": np.array([1.0, 2, 0]),
            "neuron": {**CUBA, "gradedSpike": True},
        },
    ]
    graph = read_netx(_write_net(tmp_path / "d.net", layers))
    synapse, neuron = graph.nodes[1], graph.nodes[2]
    assert np.array_equal(synapse.delay, [[1, 2, 0], [1, 2, 0]])  # per input: 3 delays for 3 inputs
    assert np.array_equal(neuron.bias_mant, [3, -2])
    assert graph.metadata["netx_layers"][1]["graded_spike"] is True


@needs_netx_files
def test_ntidigits_fixed_point_equals_netx_running_in_lava():
    """lava-dl's own netx.hdf5.Network in Lava fixed_pt, 40 steps of the recorded input."""
    netx = pytest.importorskip("lava.lib.dl.netx")
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc import io

    steps = 40
    spikes = np.load(NTIDIGITS / "input.npy")[:, :steps]
    network = netx.hdf5.Network(net_config=str(NTIDIGITS / "ntidigits.net"), num_layers=5)
    source = io.source.RingBuffer(data=spikes)
    sink = io.sink.RingBuffer(shape=network.out.shape, buffer=steps)
    source.s_out.connect(network.inp)
    network.out.connect(sink.a_in)
    try:
        network.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        lava_output = sink.data.get()
    finally:
        network.stop()
    graph = read_netx(NTIDIGITS / "ntidigits.net")
    lag = graph.lag("layer4")
    output = simulate_fixed(graph, spikes.T[None].astype(np.uint8)).output().spikes[0].T
    assert lag == 3 and lava_output[:, lag:].sum() > 50
    assert np.array_equal(output[:, : steps - lag], lava_output[:, lag:])


def run_netx_layers(
    path: Path, currents: np.ndarray, read_state: bool = False
) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
    """Run netx in Lava fixed_pt, driving the input layer's neuron ``a_in`` with ``currents`` ``(X, Y, C, T)``.

    Returns every layer's spikes ``(X, Y, C, T)`` and, with ``read_state``, the output
    neuron's final ``du``, ``dv``, ``vth``, ``u`` and ``v`` as netx built them (flat
    layers only: reading a conv neuron's state back from Lava hangs).
    """
    netx = pytest.importorskip("lava.lib.dl.netx")
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc import io

    steps = currents.shape[-1]
    network = netx.hdf5.Network(net_config=str(path), reset_interval=steps, reset_offset=0)  # latdeploy's resets
    source = io.source.RingBuffer(data=currents)
    source.s_out.connect(network.in_layer.neuron.a_in)
    sinks = []
    for layer in network.layers:
        sinks.append(io.sink.RingBuffer(shape=layer.out.shape, buffer=steps))
        layer.out.connect(sinks[-1].a_in)
    try:
        network.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        neuron = network.out_layer.neuron
        names = ("du", "dv", "vth", "u", "v") if read_state else ()
        state = {name: np.asarray(getattr(neuron, name).get()) for name in names}
        return [sink.data.get() for sink in sinks], state
    finally:
        network.stop()


def _run_netx_on_input_neuron(path: Path, currents: np.ndarray) -> np.ndarray:
    """The output layer's spikes of :func:`run_netx_layers`."""
    return run_netx_layers(path, currents)[0][-1]


@pytest.mark.skipif(not (NETX_TESTS / "tiny.net").is_file(), reason="lava-dl's netx test networks are not installed")
def test_tiny_conv_net_fixed_point_equals_netx_running_in_lava():
    """lava-dl's tiny.net (input neuron, two strided 5x5 conv layers) on graded input currents, 10 steps."""
    graph = read_netx(NETX_TESTS / "tiny.net")
    assert [type(n).__name__ for n in graph.nodes[1:4]] == ["LIFInt", "Conv2dInt", "LIFInt"]
    steps = 10
    currents = np.random.default_rng(4).integers(0, 61, (1, steps, 3, 16, 16))  # [B, T, C, H, W]
    lava = _run_netx_on_input_neuron(NETX_TESTS / "tiny.net", currents[0].transpose(3, 2, 1, 0).astype(np.int32))
    lava = lava.transpose(2, 1, 0, 3).reshape(36, steps)  # (X, Y, C, T) -> (C*H*W, T)
    trace = simulate_fixed(graph, currents.reshape(1, steps, -1).astype(np.uint8))
    output = trace.output().spikes[0].T
    lag = graph.lag("layer2")
    assert lag == 2 and trace.layers["layer1"].spikes.sum() > 0 and lava.sum() > 0
    assert np.array_equal(output[:, : steps - lag], lava[:, lag:])


@pytest.mark.skipif(not (NETX_TESTS / "mnist.net").is_file(), reason="lava-dl's netx test networks are not installed")
def test_mnist_default_output_neuron_equals_netx_running_in_lava():
    """mnist.net's last dense layer has no neuron: netx's default iDecay 0, vDecay 4096, vThMant 2^17.

    Lava gets du = -1 (current never decays), dv = 4096 (v = u + bias each step) and a
    threshold 2^23 that no 24-bit v reaches: the layer never fires, its v is the read-out.
    Every layer's spikes and that v equal netx's in Lava fixed_pt (6 steps of input currents).
    """
    graph = read_netx(NETX_TESTS / "mnist.net")
    output = graph.node("layer3")
    assert (output.du, output.dv, output.vth) == (-1, 4096, 1 << 17)
    steps = 6
    currents = np.random.default_rng(7).integers(0, 200, (784, steps))
    lava_layers, state = run_netx_layers(NETX_TESTS / "mnist.net", currents.astype(np.int32), read_state=True)
    assert [int(state[name].reshape(-1)[0]) for name in ("du", "dv", "vth")] == [-1, 4096, 1 << 17]
    trace = simulate_fixed(graph, currents.T[None].astype(np.uint8))
    for name, lava in zip(("layer0", "layer1", "layer2", "layer3"), lava_layers, strict=True):
        lag = graph.lag(name)
        ours = trace.layers[name].spikes[0].T
        assert np.array_equal(ours[:, : steps - lag], lava[:, lag:]), name
    assert trace.layers["layer2"].spikes.sum() > 100 and trace.layers["layer3"].spikes.sum() == 0
    final = steps - 1 - graph.lag("layer3")  # Lava's last step, in the layer's own time
    assert np.array_equal(trace.layers["layer3"].u[0, final], state["u"])
    assert np.array_equal(trace.layers["layer3"].v[0, final], state["v"]) and np.abs(state["v"]).max() > 1000


def test_dense_without_neuron_gets_netx_default_integrator(tmp_path):
    dense = {"type": "dense", "shape": [2], "weight": np.array([[2.0, -4.0, 6.0]]).repeat(2, 0)}
    graph = read_netx(_write_net(tmp_path / "n.net", [{"type": "input", "shape": [3]}, dense]))
    neuron = graph.nodes[-1]
    assert (neuron.du, neuron.dv, neuron.vth) == (-1, 4096, 1 << 17)
    spikes = np.ones((1, 5, 3), np.uint8)
    trace = simulate_fixed(graph, spikes)
    step = (2 - 4 + 6) << 6  # the file's weights, every input spiking
    assert np.array_equal(trace.layers[neuron.name].u[0, :, 0], step * np.arange(1, 6))  # no current decay
    assert trace.layers[neuron.name].spikes.sum() == 0


def test_one_reader_per_netx_layer_type():
    assert NETX_LAYER_READERS.keys() == ["input", "flatten", "conv", "dense", "average"]
