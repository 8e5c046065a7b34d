"""Float simulator of the IR: runs every node with the very torch modules of
:mod:`latdeploy.nn`, so its spikes equal the trained model's exactly."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from latdeploy.errors import ModelFormatError
from latdeploy.ir import LIF, Dense, Graph, SpikeInput
from latdeploy.nn.neurons import LIF as TorchLIF
from latdeploy.sim.trace import LayerTrace, Trace


def lif_module(node: LIF) -> TorchLIF:
    """Return the torch neuron module equal to IR node ``node``."""
    module = TorchLIF(node.size, node.threshold, node.current_decay, node.voltage_decay, bias=True)
    with torch.no_grad():
        module.bias.copy_(torch.from_numpy(node.bias))
    return module


def simulate_float(graph: Graph, input_spikes: np.ndarray) -> Trace:
    """Run the float ``graph`` on ``input_spikes`` ``[B, T, n_in]``.

    Returns:
        A :class:`Trace` (spikes as uint8, ``v_pre`` as float32).

    Raises:
        ModelFormatError: if the graph holds a node without a float kernel.
    """
    values: dict[str, torch.Tensor] = {}
    layers: dict[str, LayerTrace] = {}
    with torch.no_grad():
        for node in graph.nodes:
            if isinstance(node, SpikeInput):
                values[node.name] = torch.from_numpy(np.asarray(input_spikes, np.float32)).permute(1, 0, 2)
            elif isinstance(node, Dense):
                values[node.name] = F.linear(values[node.inputs[0]], torch.from_numpy(node.weight))
            elif isinstance(node, LIF):
                spikes, v_pre = lif_module(node)(values[node.inputs[0]])
                values[node.name] = spikes
                layers[node.name] = LayerTrace(
                    spikes=spikes.permute(1, 0, 2).numpy().astype(np.uint8),
                    v_pre=v_pre.permute(1, 0, 2).numpy(),
                )
            else:
                raise ModelFormatError(f"node {node.name!r}: {type(node).__name__} has no float kernel")
    return Trace(layers=layers)
