"""IR from :mod:`latdeploy.nn` torch modules."""

from __future__ import annotations

from typing import Any

from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.ir import LIF, Dense, Graph, SpikeInput
from latdeploy.nn.network import LatencyMLP

GRAPH_METADATA_KEYS = ("timesteps", "dataset", "classes", "encoder", "decoder", "input_shape")


def graph_from_module(model: nn.Module, metadata: dict[str, Any]) -> Graph:
    """Return the float IR graph of ``model``.

    ``Linear`` layers become :class:`~latdeploy.ir.Dense`, neurons become
    :class:`~latdeploy.ir.LIF` (their bias moves into the neuron, as Loihi holds it).

    Raises:
        UnsupportedLayerError: if the module is not an architecture this frontend knows.
    """
    if not isinstance(model, LatencyMLP):
        raise UnsupportedLayerError(
            f"model of type {type(model).__name__} is not supported; supported: LatencyMLP ('mlp')"
        )
    first = model.linears[0]
    nodes: list = [SpikeInput("input", (), neurons=first.in_features, encoding="latency")]
    previous = "input"
    for index, (linear, neuron) in enumerate(zip(model.linears, model.neurons, strict=True), start=1):
        weight = linear.weight.detach().cpu().numpy()
        bias = neuron.bias.detach().cpu().numpy() if neuron.bias is not None else None
        nodes.append(Dense(f"dense{index}", (previous,), weight=weight))
        nodes.append(
            LIF(
                f"lif{index}",
                (f"dense{index}",),
                threshold=neuron.threshold,
                current_decay=neuron.current_decay,
                voltage_decay=neuron.voltage_decay,
                bias=bias if bias is not None else [0.0] * neuron.size,
            )
        )
        previous = f"lif{index}"
    kept = {key: metadata[key] for key in GRAPH_METADATA_KEYS if key in metadata}
    return Graph(tuple(nodes), {**kept, "timesteps": model.timesteps})
