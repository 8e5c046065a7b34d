"""Xylo Audio 2's design rules: what one Xylo core holds, each limit with its source.

:func:`check_xylo_graph` checks an integer graph of :class:`~latdeploy.ir.xylo_nodes.XyloIAFInt`
layers against them and raises :class:`~latdeploy.errors.ResourceError` naming the layer and the
binding limit. The float-side rules (which neuron kinds and synapses Xylo can take) are the
quantizer's (:mod:`latdeploy.passes.quantize_xylo`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from latdeploy.errors import ResourceError
from latdeploy.ir import Graph, Node
from latdeploy.ir.xylo_nodes import HIDDEN_SPIKES, READOUT_SPIKES, XyloIAFInt


@dataclass(frozen=True)
class XyloLimits:
    """The resources of one Xylo core."""

    inputs: int
    hidden: int
    readout: int
    recurrent_synapses: int


XYLO_AUDIO2 = XyloLimits(inputs=16, hidden=1000, readout=8, recurrent_synapses=32000)
"""Xylo Audio 2 (SYNS61201). Inputs 16 and readout 8: Rockpool 3.1
``rockpool/devices/xylo/syns61201/xylo_mapper.py`` (``mapper(..., max_hidden_neurons=1000,
max_output_neurons=8)``) and the input weight RAM ``IWTRAM`` of 16000 = 16 x 1000 entries
(``xa2_devkit_utils.py`` memory table, 0x00100..0x03F80). Hidden 1000: the same ``mapper``
default. Recurrent (hidden -> hidden) synapses 32000: ``RFORAM`` and ``RWTRAM`` hold 0x7D00 =
32000 entries each (``xa2_devkit_utils.py`` memory table 0x0A920..0x12620..0x1A320); no
per-neuron fan-out figure is published, the total is the bound."""


def _weight(graph: Graph, neuron: Node) -> np.ndarray:
    """Return the ``[out, in]`` weights feeding ``neuron``: its own (a Xylo layer) or its Dense synapse's."""
    if isinstance(neuron, XyloIAFInt):
        return neuron.weight
    return np.asarray(getattr(graph.node(neuron.inputs[0]), "weight", np.ones((neuron.size, 1))))


def check_xylo_graph(graph: Graph, limits: XyloLimits = XYLO_AUDIO2) -> None:
    """Check that ``graph`` (input -> hidden layers -> one readout layer; float or Xylo integer) fits one Xylo core.

    Raises:
        ResourceError: naming the layer, what it needs and the binding limit, for too many
            inputs, hidden or readout neurons, recurrent synapses, or (integer graphs) a layer
            out of place or a bias Xylo cannot apply in step.
    """
    layers = graph.neurons()
    if len(layers) < 2:
        raise ResourceError(
            f"a Xylo network is input -> at least one hidden layer -> one readout layer; got {len(layers)} "
            "neuron layer(s) (Xylo's readout neurons take input from hidden neurons only)"
        )
    n_in = graph.input.size
    if n_in > limits.inputs:
        raise ResourceError(
            f"input {graph.input.name!r}: {n_in} channels exceed Xylo Audio 2's {limits.inputs} input channels"
        )
    *hidden, readout = layers
    if readout.size > limits.readout:
        raise ResourceError(
            f"layer {readout.name!r}: {readout.size} readout neurons exceed Xylo Audio 2's {limits.readout}"
        )
    total = sum(node.size for node in hidden)
    if total > limits.hidden:
        sizes = ", ".join(f"{node.name!r} {node.size}" for node in hidden)
        raise ResourceError(f"hidden layers ({sizes}): {total} neurons exceed Xylo Audio 2's {limits.hidden}")
    recurrent = sum(int(np.count_nonzero(_weight(graph, node))) for node in hidden[1:])
    if recurrent > limits.recurrent_synapses:
        raise ResourceError(
            f"hidden layers {[node.name for node in hidden[1:]]}: {recurrent} hidden-to-hidden synapses exceed "
            f"Xylo Audio 2's {limits.recurrent_synapses} (recurrent weight memory)"
        )
    if all(isinstance(node, XyloIAFInt) for node in layers):
        _check_integer_layers(hidden, readout)


def _check_integer_layers(hidden: list[XyloIAFInt], readout: XyloIAFInt) -> None:
    """Check the Xylo integer layers' roles: readout last, lags 0 then 1, biases where Xylo applies them in step."""
    if readout.max_spikes != READOUT_SPIKES:
        raise ResourceError(f"layer {readout.name!r}: the last layer must be Xylo's readout (one spike a step)")
    for index, node in enumerate(hidden):
        if node.max_spikes != HIDDEN_SPIKES or node.input_lag != (0 if index == 0 else 1):
            raise ResourceError(f"layer {node.name!r}: not a Xylo hidden layer in position {index}")
        if index and np.any(node.bias):
            raise ResourceError(
                f"layer {node.name!r}: a bias on a layer fed by neurons is not supported (Xylo starts every "
                "layer at once, so it would act one step before the layer's first input)"
            )
    if np.any(readout.bias):
        raise ResourceError(f"layer {readout.name!r}: a bias on Xylo's readout layer is not supported (see above)")


def xylo_mapping(graph: Graph, profile_name: str, limits: XyloLimits = XYLO_AUDIO2) -> dict[str, Any]:
    """Return ``mapping.json`` for a graph on one Xylo core: the hidden population's index ranges per layer.

    Raises:
        ResourceError: if the graph does not fit (:func:`check_xylo_graph`).
    """
    check_xylo_graph(graph, limits)
    *hidden, readout = graph.neurons()
    rows, start = [], 0
    for node in hidden:
        rows.append({"name": node.name, "population": "hidden", "neurons": node.size, "first_index": start})
        start += node.size
    rows.append({"name": readout.name, "population": "readout", "neurons": readout.size, "first_index": 0})
    recurrent = sum(int(np.count_nonzero(_weight(graph, node))) for node in hidden[1:])
    used = {"inputs": graph.input.size, "hidden": start, "readout": readout.size, "recurrent_synapses": recurrent}
    return {
        "profile": profile_name,
        "cores_per_chip": 1,
        "total_cores": 1,
        "limits": asdict(limits),
        "convention": "one Xylo core: input channels -> hidden population (layers stacked in order; "
        "layer k > 0 fed through the recurrent weights) -> readout neurons",
        "layers": rows,
        "used": used,
        "utilisation": {name: round(value / getattr(limits, name), 6) for name, value in used.items()},
    }
