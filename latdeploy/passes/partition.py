"""SplitHostChip: which nodes run on the host and which on the neuromorphic chip.

The chip runs spiking computation only: synapses (``kind == "synapse"``) and
spike pass-through nodes (delays, reshapes) whose inputs are spikes (the
``SpikeInput``, a chip neuron or pass-through), synapses fed by a chip synapse (a
pool -> conv or dense -> dense chain, which
:mod:`latdeploy.passes.fuse_synapses` turns into one synapse before quantization),
and neurons fed by chip nodes.
Everything else (the input encoder that turns
analog values into the ``SpikeInput`` spikes, analog feature extractors, read-out
nodes) runs on the host. The boundary is the list of spike tensors that cross
from host to chip (the input spikes) and from chip to host (the output layer).

The host part before the first spiking layer is the model's encoder (with the LE
encoder's learnable feature extractor); it is not an IR node (the graph starts at the
``SpikeInput``), and :mod:`latdeploy.backends.host_onnx` exports it as plain ONNX
(``host.onnx`` in every export bundle: analog input -> the ``[B, T, n]`` spikes the chip
receives, standard ops only, run by onnxruntime).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from latdeploy.ir import Graph


@dataclass
class HostChipSplit:
    """Node names on each side plus the spike tensors crossing the boundary (JSON-able via :meth:`as_dict`)."""

    host: list[str]
    chip: list[str]
    to_chip: list[str]
    to_host: list[str]
    host_operations: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the split as a plain dict."""
        return {
            "host": self.host,
            "chip": self.chip,
            "to_chip": self.to_chip,
            "to_host": self.to_host,
            "host_operations": self.host_operations,
        }


def split_host_chip(graph: Graph) -> HostChipSplit:
    """Return the host/chip split of ``graph`` (the graph is not changed).

    ``host_operations`` names what the host computes: the input encoder (from the
    graph metadata, e.g. ``latency``) and any non-spiking node, and the read-out
    (``metadata["decoder"]`` or ``metadata["readout"]``) when the graph has one.
    """
    chip: list[str] = []
    spiking = {graph.input.name}
    host = [graph.input.name]
    for node in graph.nodes:
        if node.name == host[0]:  # the SpikeInput
            continue
        if node.kind == "neuron":
            on_chip = all(name in chip or name in spiking for name in node.inputs)
        elif node.kind == "synapse":  # spikes in, or a chip synapse in (FuseSynapseChains makes one synapse)
            chip_synapse = {name for name in chip if graph.node(name).kind == "synapse"}
            on_chip = all(name in spiking or name in chip_synapse for name in node.inputs)
        else:  # a spike pass-through (delay, flatten): spikes in
            on_chip = all(name in spiking for name in node.inputs)
        if on_chip:
            chip.append(node.name)
            if node.kind != "synapse":
                spiking.add(node.name)
        else:
            host.append(node.name)
    encoder = graph.metadata.get("encoder") or graph.input.encoding
    operations = [f"encoder: {encoder['kind'] if isinstance(encoder, dict) and 'kind' in encoder else encoder}"]
    operations += [f"{type(graph.node(name)).__name__}: {name}" for name in host[1:]]
    readout = graph.metadata.get("decoder") or graph.metadata.get("readout")
    if readout:
        operations.append(
            f"read-out: {readout['kind'] if isinstance(readout, dict) and 'kind' in readout else readout}"
        )
    to_chip = [graph.input.name] if any(graph.input.name in graph.node(n).inputs for n in chip) else []
    chip_neurons = [n.name for n in graph.neurons() if n.name in chip]
    consumed = {i for name in chip for i in graph.node(name).inputs}
    to_host = [name for name in chip_neurons if name not in consumed] or chip_neurons[-1:]
    return HostChipSplit(host=host, chip=chip, to_chip=to_chip, to_host=to_host, host_operations=operations)
