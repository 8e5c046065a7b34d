"""The pass contract: every registered pass returns a new graph and leaves its input exactly as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import latdeploy
from latdeploy.data import load_split
from latdeploy.flows.prepare import encode, float_graph
from latdeploy.hw.profile import load_profile
from latdeploy.ir import Graph
from latdeploy.passes.base import PASSES, GraphPass, run_passes
from latdeploy.passes.fuse_synapses import FuseSynapseChains
from latdeploy.passes.quantize import QuantizeForProfile
from latdeploy.sim.float_sim import simulate_float

MODELS = Path(__file__).resolve().parents[2] / "models"


def _graph_and_spikes(name: str) -> tuple[Graph, np.ndarray]:
    model, metadata = latdeploy.load(MODELS / f"{name}.pt")
    spikes = encode(model, load_split(metadata["dataset"], "train").x[:16])
    return float_graph(model, metadata), spikes


def _factories(spikes: np.ndarray) -> dict[str, GraphPass]:
    return {
        "FuseSynapseChains": FuseSynapseChains(),
        "QuantizeForProfile": QuantizeForProfile(load_profile("loihi2"), spikes),
    }


def _snapshot(graph: Graph) -> list[tuple[str, str, dict]]:
    return [
        (
            type(node).__name__,
            node.name,
            {
                **node.attribute_fields(),
                **{k: None if v is None else v.copy() for k, v in node.tensor_fields().items()},
            },
        )
        for node in graph.nodes
    ]


def _same(first: list, second: list) -> bool:
    if [(t, n, sorted(f)) for t, n, f in first] != [(t, n, sorted(f)) for t, n, f in second]:
        return False
    for (_, _, a), (_, _, b) in zip(first, second, strict=True):
        for key in a:
            if isinstance(a[key], np.ndarray):
                if a[key].dtype != b[key].dtype or not np.array_equal(a[key], b[key]):
                    return False
            elif a[key] != b[key]:
                return False
    return True


def test_every_registered_pass_is_exercised_here():
    assert set(_factories(np.zeros((1, 1, 1), np.uint8))) == set(PASSES.names())


@pytest.mark.parametrize("model", ["digits_ttfs_convnet", "digits_mtlif_mlp"])
def test_a_pass_returns_a_new_graph_and_never_mutates_its_input(model):
    graph, spikes = _graph_and_spikes(model)
    metadata = dict(graph.metadata)
    for name, graph_pass in _factories(spikes).items():
        before = _snapshot(graph)
        result = graph_pass.apply(graph)
        assert isinstance(result, Graph), name
        assert _same(_snapshot(graph), before) and graph.metadata == metadata, f"{name} mutated its input"


def test_fusing_keeps_the_float_network_and_run_passes_chains_passes():
    graph, spikes = _graph_and_spikes("digits_ttfs_convnet")
    fused = FuseSynapseChains()(graph)
    assert len(fused.nodes) < len(graph.nodes)  # the average pool is fused into the next synapse
    before, after = simulate_float(graph, spikes), simulate_float(fused, spikes)
    agreement = np.mean([np.mean(before.layers[k].spikes == after.layers[k].spikes) for k in after.layers])
    assert agreement > 0.999  # exact in real arithmetic; float32 rounding may flip a tie
    quantizer = QuantizeForProfile(load_profile("loihi2"), spikes)
    integer = run_passes(graph, [FuseSynapseChains(), quantizer])
    assert [layer.neuron for layer in quantizer.layers] == [n.name for n in integer.neurons()]
