"""The torch frontend's map from IR node to torch parameters (frontend/sources.py)."""

from __future__ import annotations

import numpy as np
import torch

from latdeploy.frontend.torch_module import convert_module, graph_from_module
from latdeploy.passes.fuse_synapses import fuse_synapse_chains
from tests.conftest import small_convnet


def _convnet(pool: str, batch_norm: bool = False) -> torch.nn.Module:
    return small_convnet(pool, in_channels=2, classes=5, batch_norm=batch_norm)


def test_every_parameter_node_maps_to_its_layer_and_the_graph_is_unchanged():
    model = _convnet("avgpool")
    conversion = convert_module(model, {})
    graph = graph_from_module(model, {})
    assert [(type(n), n.name, n.inputs) for n in conversion.graph.nodes] == [
        (type(n), n.name, n.inputs) for n in graph.nodes
    ]
    for ours, theirs in zip(conversion.graph.nodes, graph.nodes, strict=True):
        assert np.array_equal(getattr(ours, "weight", 0), getattr(theirs, "weight", 0))
    modules = dict(model.named_modules())
    for name, source in conversion.sources.items():
        assert modules[source.path] is source.module, name
        if source.weight is not None:
            assert source.weight is source.module.weight
    neurons = [node.name for node in graph.neurons()]
    assert [conversion.sources[name].bias is not None for name in neurons] == [True, True, True]
    assert set(conversion.sources) == {node.name for node in graph.nodes} - {"input"}


def test_a_fused_pool_is_a_differentiable_function_of_the_torch_weight_and_inverts():
    """pool -> conv and pool -> flatten -> linear: ir_weight(torch weight) is the fusion pass's weight."""
    model = _convnet("avgpool")
    conversion = convert_module(model, {})
    fused = fuse_synapse_chains(conversion.graph)
    pooled = [source for source in conversion.sources.values() if source.pool is not None]
    assert [source.path for source in pooled] == ["layers.3", "layers.7"]
    for node in (n for n in fused.nodes if n.name in conversion.sources and n.kind == "synapse"):
        source = conversion.sources[node.name]
        weight = source.ir_weight(source.weight)
        assert weight.requires_grad
        np.testing.assert_allclose(weight.detach().numpy(), node.weight, rtol=1e-6, atol=1e-7)
        back = source.torch_weight(weight.detach().numpy())
        np.testing.assert_allclose(back, source.weight.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_a_spike_max_pool_maps_its_nodes_without_parameters():
    conversion = convert_module(_convnet("spikemaxpool"), {})
    made = [(name, s.path) for name, s in conversion.sources.items() if s.weight is None and s.bias is None]
    assert made == [("pool1", "layers.2"), ("lif2", "layers.2"), ("pool2", "layers.5"), ("lif4", "layers.5")]


def test_a_folded_batch_norm_is_recorded_on_the_synapse_and_the_neuron():
    conversion = convert_module(_convnet("avgpool", batch_norm=True), {})
    assert conversion.sources["conv1"].folded == ("layers.1",)
    assert conversion.sources["lif1"].folded == ("layers.1",)
    assert conversion.sources["conv2"].folded == ()
