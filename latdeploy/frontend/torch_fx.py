"""Layers of a torch model with a custom ``forward``, found by ``torch.fx`` symbolic tracing.

Every module with a registered converter (and every encoder of
:mod:`latdeploy.nn.encoders`, which runs on the host and is skipped) is a leaf of
the trace; the layers are the leaf calls in execution order. Between them only
layout operations are allowed — indexing a neuron's ``(spikes, v_pre)`` result,
``flatten``/``reshape``/``view`` (IR values are flat in C order, so these change
nothing) and reading ``.shape``/``size()`` — and the calls must form a chain, each
layer consuming the previous one's output.
"""

from __future__ import annotations

import operator

import torch
from torch import fx, nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.converters import CONVERTERS
from latdeploy.nn import encoders

LAYOUT_METHODS = ("flatten", "reshape", "view", "size", "contiguous")
LAYOUT_FUNCTIONS = (operator.getitem, torch.flatten, torch.reshape, getattr)


class _LayerTracer(fx.Tracer):
    def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
        if any(cls in CONVERTERS for cls in type(module).__mro__):
            return True
        return type(module).__module__ == encoders.__name__ or super().is_leaf_module(module, qualified_name)


def traced_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Return ``(path, module)`` of the layers ``model.forward`` calls, in order (encoders left out).

    Raises:
        UnsupportedLayerError: if the forward cannot be traced, uses an operation other
            than the layout ones, or is not a chain of layers.
    """
    try:
        graph = _LayerTracer().trace(model)
    except Exception as error:  # fx raises many kinds (TraceError, TypeError, ...) on dynamic code
        raise UnsupportedLayerError(
            f"model {type(model).__name__}: its forward cannot be traced by torch.fx "
            f"({type(error).__name__}: {error}); use nn.Sequential or a 'layers' ModuleList"
        ) from error
    modules = dict(model.named_modules())
    layers: list[tuple[str, nn.Module]] = []
    source_of: dict[fx.Node, str | None] = {}
    for node in graph.nodes:
        sources = {source_of.get(arg) for arg in node.all_input_nodes} - {None}
        if node.op == "call_module" and type(modules[node.target]).__module__ == encoders.__name__:
            source_of[node] = None
        elif node.op == "call_module":
            previous = layers[-1][0] if layers else None
            if sources - {previous} or (previous is not None and previous not in sources):
                raise UnsupportedLayerError(
                    f"layer {node.target!r}: consumes {sorted(sources)} instead of the previous layer "
                    f"{previous!r}; only chains of layers are supported"
                )
            layers.append((str(node.target), modules[node.target]))
            source_of[node] = str(node.target)
        elif node.op in ("call_method", "call_function"):
            allowed = node.target in LAYOUT_METHODS if node.op == "call_method" else node.target in LAYOUT_FUNCTIONS
            if not allowed:
                raise UnsupportedLayerError(
                    f"model {type(model).__name__}: operation {getattr(node.target, '__name__', node.target)!r} "
                    f"in forward is not supported (only layers and layout operations: {list(LAYOUT_METHODS)})"
                )
            source_of[node] = max(sources, key=[path for path, _ in layers].index) if sources else None
        else:
            source_of[node] = None
    return layers
