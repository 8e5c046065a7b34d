"""IR from torch models: walks the layers and converts each through a registry keyed by module type.

Supported containers: :class:`~latdeploy.nn.network.LatencyMLP` (``Linear -> neuron``
per layer), models with a ``layers`` ``ModuleList`` run in order (e.g.
:class:`~latdeploy.nn.network.SpikingConvNet`) and ``nn.Sequential`` (nested
sequentials are walked); any other model is traced with ``torch.fx``
(:mod:`latdeploy.frontend.torch_fx`). The encoder runs on the host and is not converted; the
graph input has the shape the first layer receives (``metadata["input_shape"]`` for
a bare ``nn.Sequential``).

Registry contract: :data:`CONVERTERS` (:func:`register_converter`) maps a torch module type (subclasses
match too, the nearest registered base wins) to ``converter(module, state, path)``,
which appends IR nodes with :meth:`ConversionState.add` (reading ``state.current``,
the name of the value it consumes, and ``state.shape``, that value's per-step shape,
e.g. ``(C, H, W)``) or rewrites the previous node (batch norm folding), and raises
:class:`~latdeploy.errors.UnsupportedLayerError` naming ``path`` for what it cannot map.
A neuron kind's torch module converts through :func:`convert_neuron`, registered when the kind
is (:data:`latdeploy.neurons.registry.NEURON_KINDS`); the conv-net layers register in
:mod:`latdeploy.frontend.torch_layers` (imported by the package's plugin module,
``latdeploy/frontend/__init__.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.ir import Dense, Graph, Node, SpikeInput
from latdeploy.neurons.base import NeuronKind
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.nn.network import LatencyMLP
from latdeploy.registry import Registry

GRAPH_METADATA_KEYS = ("timesteps", "dataset", "classes", "encoder", "decoder", "input_shape")


@dataclass
class ConversionState:
    """The graph being built: its nodes, the value the next layer consumes and that value's shape.

    ``pending_bias`` is a per-value bias (``shape``) left by folded batch norms or
    layer biases; the next neuron absorbs it into its own bias.
    """

    nodes: list[Node]
    current: str
    shape: tuple[int, ...]
    pending_bias: np.ndarray | None = None
    counters: dict[str, int] = field(default_factory=dict)

    def name(self, prefix: str) -> str:
        """Return a fresh node name ``<prefix><k>`` (``k`` counts from 1 per prefix)."""
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}{self.counters[prefix]}"

    def add(self, node: Node, shape: tuple[int, ...]) -> None:
        """Append ``node``; it becomes the current value, of per-step ``shape``."""
        self.nodes.append(node)
        self.current = node.name
        self.shape = tuple(int(d) for d in shape)

    @property
    def previous(self) -> Node:
        """The node that produced the current value."""
        return self.nodes[-1]

    def add_bias(self, bias: np.ndarray, path: str) -> None:
        """Add ``bias`` (broadcast to ``shape``) to the bias the next neuron absorbs.

        Raises:
            UnsupportedLayerError: if it does not broadcast to the current shape.
        """
        try:
            bias = np.broadcast_to(np.asarray(bias, np.float32), self.shape)
        except ValueError as error:
            raise UnsupportedLayerError(f"layer {path!r}: bias does not fit shape {self.shape}") from error
        self.pending_bias = bias.copy() if self.pending_bias is None else self.pending_bias + bias


Converter = Callable[[nn.Module, ConversionState, str], None]
CONVERTERS: Registry[type[nn.Module], Converter] = Registry("converter")


def register_converter(*module_types: type[nn.Module]) -> Callable[[Converter], Converter]:
    """Decorator: register ``converter`` for each of ``module_types``; returns the converter."""

    def decorate(converter: Converter) -> Converter:
        for module_type in module_types:
            CONVERTERS.add(module_type, converter)
        return converter

    return decorate


def converter_for(module: nn.Module, path: str) -> Converter:
    """Return the converter of ``module`` (its class or nearest registered base class).

    Raises:
        UnsupportedLayerError: naming ``path`` and the type if none is registered.
    """
    for cls in type(module).__mro__:
        converter = CONVERTERS.find(cls)
        if converter is not None:
            return converter
    supported = ", ".join(CONVERTERS.names())
    raise UnsupportedLayerError(
        f"layer {path!r}: {type(module).__module__}.{type(module).__name__} is not supported; supported: {supported}"
    )


@register_converter(nn.Linear)
def convert_linear(module: nn.Linear, state: ConversionState, path: str) -> None:
    """``Linear`` -> :class:`~latdeploy.ir.Dense`; a bias goes to the next neuron."""
    if math.prod(state.shape) != module.in_features:
        raise UnsupportedLayerError(
            f"layer {path!r}: Linear expects {module.in_features} inputs, gets shape {state.shape}"
        )
    weight = module.weight.detach().cpu().numpy()
    state.add(Dense(state.name("dense"), (state.current,), weight=weight), (module.out_features,))
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
    state.add(neuron_node(kind.float_node, module, state, path, **fields), state.shape)


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
        bias = (bias + state.pending_bias.reshape(-1)).astype(np.float32)
        state.pending_bias = None
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
    from latdeploy.frontend.torch_fx import traced_layers

    return traced_layers(model), _input_shape(metadata.get("input_shape"), type(model).__name__)


def _input_shape(shape: Any, what: str) -> tuple[int, ...]:
    if shape is None:
        raise UnsupportedLayerError(f"{what} model: metadata must give 'input_shape' (e.g. [C, H, W])")
    return tuple(int(d) for d in shape)


def graph_from_module(model: nn.Module, metadata: dict[str, Any]) -> Graph:
    """Return the float IR graph of ``model``.

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
    return Graph(tuple(state.nodes), {**kept, "timesteps": int(timesteps)})
