"""IR from torch models: walks the layers and converts each through a registry keyed by module type.

Supported containers: :class:`~latdeploy.nn.network.LatencyMLP` (``Linear -> neuron``
per layer), models with a ``layers`` ``ModuleList`` run in order (e.g.
:class:`~latdeploy.nn.network.SpikingConvNet`) and ``nn.Sequential`` (nested
sequentials are walked); any other model is traced with ``torch.fx``
(:mod:`latdeploy.frontend.torch_fx`). The encoder runs on the host and is not converted; the
graph input has the shape the first layer receives (``metadata["input_shape"]`` for
a bare ``nn.Sequential``).

Converters come from :data:`latdeploy.frontend.converters.CONVERTERS`. A neuron kind's torch
module converts through :func:`convert_neuron`, registered when the kind is
(:data:`latdeploy.neurons.registry.NEURON_KINDS`); the conv-net layers register in
:mod:`latdeploy.frontend.torch_layers` (imported by the package's plugin module,
``latdeploy/frontend/__init__.py``). While converting, every node's torch parameters are recorded
(:mod:`latdeploy.frontend.sources`); :func:`convert_module` returns them with the graph.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.converters import CONVERTERS, ConversionState, converter_for, register_converter
from latdeploy.frontend.sources import ParameterSource
from latdeploy.frontend.torch_fx import traced_layers
from latdeploy.ir import Dense, Graph, Node, SpikeInput
from latdeploy.neurons.base import NeuronKind
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.nn.network import LatencyMLP

GRAPH_METADATA_KEYS = ("timesteps", "dataset", "classes", "encoder", "decoder", "input_shape")


@register_converter(nn.Linear)
def convert_linear(module: nn.Linear, state: ConversionState, path: str) -> None:
    """``Linear`` -> :class:`~latdeploy.ir.Dense` (made from ``weight``, and a plain pool before it); a bias
    goes to the next neuron."""
    if math.prod(state.shape) != module.in_features:
        raise UnsupportedLayerError(
            f"layer {path!r}: Linear expects {module.in_features} inputs, gets shape {state.shape}"
        )
    weight = module.weight.detach().cpu().numpy()
    source = ParameterSource(path, module, weight=module.weight, pool=state.fused_pool())
    state.add(Dense(state.name("dense"), (state.current,), weight=weight), (module.out_features,), source)
    if module.bias is not None:
        state.add_bias(module.bias.detach().cpu().numpy(), path)


def convert_neuron(module: nn.Module, state: ConversionState, path: str) -> None:
    """A neuron kind's torch module -> the kind's float node (flattened; bias plus any pending bias;
    the kind's ``fields``, e.g. ``levels``, copied).

    Raises:
        UnsupportedLayerError: if no registered kind accepts the module (e.g. an unknown ``reset``),
            or as :func:`neuron_node`.
    """
    kind = NEURON_KINDS.of_module(module)
    if kind is None:
        raise UnsupportedLayerError(
            f"layer {path!r}: no neuron kind for {type(module).__name__} with these options; "
            f"supported: {', '.join(NEURON_KINDS.names())}"
        )
    fields = {name: getattr(module, name) for name in kind.fields}
    folded = state.pending_paths
    node = neuron_node(kind.float_node, module, state, path, **fields)
    state.add(node, state.shape, ParameterSource(path, module, bias=module.bias, folded=folded))


def _add_kind(kind: NeuronKind) -> None:
    CONVERTERS.add(kind.torch_module, convert_neuron)


def _remove_kind(kind: NeuronKind) -> None:
    if not any(other.torch_module is kind.torch_module for _, other in NEURON_KINDS.items()):
        CONVERTERS.remove(kind.torch_module)


NEURON_KINDS.subscribe(_add_kind, _remove_kind)


def neuron_node(node_type: type[Node], module: nn.Module, state: ConversionState, path: str, **fields: Any) -> Node:
    """Return a float neuron node of ``node_type`` for torch neuron ``module`` reading the current value.

    Its bias is the module's (zero without) plus the pending bias of folded layers.

    Raises:
        UnsupportedLayerError: if the neuron does not follow a synapse, its shape differs
            from the input's, or a pending bias meets a current decay below 1 (the bias
            would then accumulate in ``u``).
    """
    if state.previous.kind != "synapse":
        raise UnsupportedLayerError(
            f"layer {path!r}: a {type(module).__name__} must follow a synaptic layer (Linear, Conv2d, pooling)"
        )
    size = math.prod(state.shape)
    if int(module.size) != size:
        raise UnsupportedLayerError(f"layer {path!r}: neuron of size {module.size} receives shape {state.shape}")
    bias = np.zeros(size, np.float32)
    if module.bias is not None:
        bias = module.bias.detach().cpu().numpy().reshape(-1).astype(np.float32)
    if state.pending_bias is not None:
        if module.current_decay != 1.0:
            raise UnsupportedLayerError(
                f"layer {path!r}: a synaptic bias (folded batch norm or layer bias) needs current_decay 1, "
                f"got {module.current_decay}"
            )
        pending, _ = state.take_pending_bias()
        bias = (bias + pending.reshape(-1)).astype(np.float32)
    return node_type(
        state.name("lif"),
        (state.current,),
        threshold=module.threshold,
        current_decay=module.current_decay,
        voltage_decay=module.voltage_decay,
        bias=bias,
        **fields,
    )


def _walk(module: nn.Module, path: str) -> list[tuple[str, nn.Module]]:
    """Return the leaf layers of ``module`` in execution order with their paths."""
    if isinstance(module, (nn.Sequential, nn.ModuleList)):
        leaves: list[tuple[str, nn.Module]] = []
        for name, child in module.named_children():
            leaves.extend(_walk(child, f"{path}.{name}" if path else name))
        return leaves
    return [(path, module)]


def _layers(model: nn.Module, metadata: dict[str, Any]) -> tuple[list[tuple[str, nn.Module]], tuple[int, ...]]:
    if isinstance(model, LatencyMLP):
        layers: list[tuple[str, nn.Module]] = []
        for index, (linear, neuron) in enumerate(zip(model.linears, model.neurons, strict=True)):
            layers += [(f"linears.{index}", linear), (f"neurons.{index}", neuron)]
        return layers, (model.linears[0].in_features,)
    if isinstance(getattr(model, "layers", None), nn.ModuleList):
        config = getattr(model, "config", {}) or {}
        shape = config.get("input_shape", metadata.get("input_shape"))
        return _walk(model.layers, "layers"), _input_shape(shape, type(model).__name__)
    if isinstance(model, nn.Sequential):
        return _walk(model, ""), _input_shape(metadata.get("input_shape"), "Sequential")
    return traced_layers(model), _input_shape(metadata.get("input_shape"), type(model).__name__)


def _input_shape(shape: Any, what: str) -> tuple[int, ...]:
    if shape is None:
        raise UnsupportedLayerError(f"{what} model: metadata must give 'input_shape' (e.g. [C, H, W])")
    return tuple(int(d) for d in shape)


@dataclass(frozen=True)
class Conversion:
    """A converted torch model: its float IR ``graph`` and, by node name, the torch parameters each
    node was made from (``sources``; nodes no layer's parameters feed, e.g. the input, are absent)."""

    graph: Graph
    sources: dict[str, ParameterSource]


def convert_module(model: nn.Module, metadata: dict[str, Any]) -> Conversion:
    """Return the float IR graph of ``model`` and the map from its node names to torch parameters.

    Each layer goes through its registered converter: ``Linear`` becomes
    :class:`~latdeploy.ir.Dense`, neurons become neuron nodes (their bias moves into
    the neuron, as Loihi holds it), and so on for every registered layer kind.

    Raises:
        UnsupportedLayerError: if the model or one of its layers (named by module path
            and type) is not supported, or it does not end in a neuron layer.
    """
    layers, shape = _layers(model, metadata)
    state = ConversionState(nodes=[], current="input", shape=shape)
    state.add(SpikeInput("input", (), neurons=math.prod(shape), encoding="latency"), shape)
    for path, layer in layers:
        converter_for(layer, path)(layer, state, path)
    if state.previous.kind != "neuron":
        raise UnsupportedLayerError(
            f"model {type(model).__name__}: the last layer must be a neuron layer, got {type(state.previous).__name__}"
        )
    kept = {key: metadata[key] for key in GRAPH_METADATA_KEYS if key in metadata}
    timesteps = getattr(model, "timesteps", metadata.get("timesteps"))
    return Conversion(Graph(tuple(state.nodes), {**kept, "timesteps": int(timesteps)}), dict(state.sources))


def graph_from_module(model: nn.Module, metadata: dict[str, Any]) -> Graph:
    """Return the float IR graph of ``model`` (:func:`convert_module`'s graph).

    Raises:
        UnsupportedLayerError: as :func:`convert_module`.
    """
    return convert_module(model, metadata).graph
