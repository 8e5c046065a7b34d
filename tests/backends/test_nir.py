from __future__ import annotations

import dataclasses
from typing import ClassVar

import nir
import numpy as np
import pytest

import latdeploy
from latdeploy.backends.nir import NIR_REFUSALS, NIR_WRITERS, graph_to_nir, write_nir, writer_of
from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.nir import read_nir
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.ir import LIF, TTFS, Dense, Graph, MultiThresholdLIF, Node, SpikeInput
from latdeploy.sim.float_sim import simulate_float
from tests.conftest import int_graph


def _same(a: Graph, b: Graph) -> None:
    assert a.metadata == b.metadata and [type(n) for n in a.nodes] == [type(n) for n in b.nodes]
    for left, right in zip(a.nodes, b.nodes, strict=True):
        for item in dataclasses.fields(left):
            x, y = getattr(left, item.name), getattr(right, item.name)
            if isinstance(x, np.ndarray):
                assert x.dtype == y.dtype and np.array_equal(x, y), (left.name, item.name)
            else:
                assert x == y, (left.name, item.name)


def _chain(current_decay: float, voltage_decay: float, threshold: float) -> Graph:
    rng = np.random.default_rng(7)
    nodes = [
        SpikeInput("input", (), neurons=5),
        Dense("d1", ("input",), weight=rng.normal(0, 1, (4, 5))),
        LIF("l1", ("d1",), threshold=threshold, current_decay=current_decay, voltage_decay=voltage_decay,
            bias=rng.normal(0, 0.1, 4)),
    ]  # fmt: skip
    return Graph(tuple(nodes), {"timesteps": 12, "dataset": "x", "encoder": {"kind": "latency"}})


def test_shipped_model_round_trips_exactly_through_a_nir_file(shipped_model_path, tmp_path):
    model, metadata = latdeploy.load(shipped_model_path)
    graph = graph_from_module(model, metadata)
    back = read_nir(write_nir(graph, tmp_path / "digits.nir"))
    _same(graph, back)
    assert isinstance(nir.read(str(tmp_path / "digits.nir")).nodes["lif1"], nir.IF)


@pytest.mark.parametrize(
    ("current_decay", "voltage_decay", "kind"),
    [(1.0, 0.0, nir.IF), (1.0, 0.3, nir.LIF), (1.0, 1.0, nir.Threshold), (0.2, 0.1 + 0.2, nir.CubaLIF)],
)
def test_every_neuron_mapping_round_trips_and_simulates_identically(current_decay, voltage_decay, kind, tmp_path):
    graph = _chain(current_decay, voltage_decay, threshold=0.1 + 0.2)
    exported = graph_to_nir(graph)
    assert isinstance(exported.nodes["l1"], kind)
    back = read_nir(write_nir(graph, tmp_path / "g.nir"))
    _same(graph, back)
    spikes = (np.random.default_rng(3).random((3, 12, 5)) < 0.4).astype(np.uint8)
    before, after = simulate_float(graph, spikes).output().spikes, simulate_float(back, spikes).output().spikes
    assert before.sum() > 0 and np.array_equal(before, after)


def test_nodes_nir_cannot_express_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    base = [SpikeInput("input", (), neurons=3), Dense("d", ("input",), weight=rng.normal(size=(2, 3)))]
    ttfs = Graph((*base, TTFS("t", ("d",), bias=np.zeros(2))), {"timesteps": 4})
    with pytest.raises(UnsupportedLayerError, match="'t': TTFS cannot be exported to NIR: .*fires once"):
        write_nir(ttfs, tmp_path / "t.nir")
    graded = Graph((*base, MultiThresholdLIF("m", ("d",), bias=np.zeros(2), levels=3)), {"timesteps": 4})
    with pytest.raises(UnsupportedLayerError, match="'m': MultiThresholdLIF .*graded"):
        write_nir(graded, tmp_path / "m.nir")
    with pytest.raises(UnsupportedLayerError, match="DenseInt cannot be exported to NIR: NIR holds float"):
        write_nir(int_graph(rng, (3, 2), timesteps=2), tmp_path / "i.nir")
    with pytest.raises(UnsupportedLayerError, match="voltage_decay 0 has no NIR CubaLIF"):
        write_nir(_chain(0.5, 0.0, 1.0), tmp_path / "c.nir")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("mode", ["sum", "avg"])
def test_convolutional_graph_with_delay_and_pooling_round_trips(mode, tmp_path):
    from latdeploy.ir import AxonalDelay, Conv2d, Pool2d

    rng = np.random.default_rng(9)
    conv1 = Conv2d("conv1", ("input",), weight=rng.normal(0, 0.8, (4, 2, 3, 3)), in_channels=2, in_height=8,
                   in_width=8, padding_h=1, padding_w=1)  # fmt: skip
    channel_bias = np.repeat(rng.normal(0, 0.05, 4), 64)
    pool = Pool2d("pool", ("delay",), in_channels=4, in_height=8, in_width=8, kernel_h=2, kernel_w=2, stride_h=2,
                  stride_w=2, mode=mode)  # fmt: skip
    conv2 = Conv2d("conv2", ("pool",), weight=rng.normal(0, 0.6, (6, 4, 3, 3)), in_channels=4, in_height=4,
                   in_width=4, stride_h=2, stride_w=2)  # fmt: skip
    nodes = [
        SpikeInput("input", (), neurons=128),
        conv1,
        LIF("lif1", ("conv1",), threshold=0.8, bias=channel_bias),
        AxonalDelay("delay", ("lif1",), neurons=256, steps=3),
        pool,
        conv2,
        LIF("lif2", ("conv2",), threshold=0.5, current_decay=0.5, voltage_decay=0.25, bias=rng.normal(0, 0.1, 6)),
        Dense("fc", ("lif2",), weight=rng.normal(0, 1, (3, 6))),
        LIF("out", ("fc",), threshold=0.3, voltage_decay=1.0, bias=np.zeros(3)),
    ]
    graph = Graph(tuple(nodes), {"timesteps": 16})
    exported = graph_to_nir(graph)
    assert isinstance(exported.nodes["fc_flatten"], nir.Flatten) and isinstance(exported.nodes["delay"], nir.Delay)
    assert isinstance(exported.nodes["lif2"], nir.CubaLIF) and isinstance(exported.nodes["out"], nir.Threshold)
    back = read_nir(write_nir(graph, tmp_path / "conv.nir"))
    _same(graph, back)
    spikes = (rng.random((2, 16, 128)) < 0.3).astype(np.uint8)
    before, after = simulate_float(graph, spikes), simulate_float(back, spikes)
    assert before.layers["lif2"].spikes.sum() > 0
    for name, layer in before.layers.items():
        assert np.array_equal(layer.spikes, after.layers[name].spikes), name


@dataclasses.dataclass
class _Scale(Node):
    """A node class no NIR writer knows: it is refused with the registry's uniform error."""

    neurons: int = 1
    kind: ClassVar[str] = "synapse"

    @property
    def size(self) -> int:
        return self.neurons


def test_every_node_class_has_one_nir_writer_or_a_stated_refusal():
    assert set(NIR_WRITERS.names()) == {"AxonalDelay", "Conv2d", "Dense", "LIF", "Pool2d"}
    assert not set(NIR_WRITERS.names()) & set(NIR_REFUSALS.names())
    with pytest.raises(UnsupportedLayerError, match=r"^node 's': no NIR writer for _Scale; supported: AxonalDelay, "):
        writer_of(_Scale("s", ("input",)))
