"""Float IR -> NIR graph / ``.nir`` file, the inverse of :mod:`latdeploy.frontend.nir` (same ``dt`` convention).

Per ``Dense -> LIF`` pair (``cd`` = current_decay, ``vd`` = voltage_decay)::

    cd = 1, vd = 1   Affine(W, bias) -> Threshold(v_thr)                 (no state)
    cd = 1, vd = 0   Affine(W, bias) -> IF(r = 1/dt, v_thr)
    cd = 1           Affine(W, bias) -> LIF(tau = dt/vd, r = 1/vd, v_leak = 0, v_thr)
    cd < 1, vd > 0   Linear(W) -> CubaLIF(tau_syn = dt/cd, tau_mem = dt/vd, w_in = 1/cd,
                                          r = 1/vd, v_leak = bias/vd, v_thr)

with ``v_thr`` the largest float32 below latdeploy's threshold (NIR fires on ``>``,
latdeploy on ``>=``), ``v_reset = 0``. Each neuron node's metadata also carries the
exact latdeploy fields, so a latdeploy -> NIR -> latdeploy round trip is exact.
Nodes NIR cannot express are refused with :class:`~latdeploy.errors.UnsupportedLayerError`:
TTFS (fires once), multi-threshold graded neurons, soft reset, integer nodes, and a
CUBA neuron without voltage decay.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.nir import DEFAULT_DT, EXACT_KEY, GRAPH_METADATA_KEY, _nir
from latdeploy.ir import LIF, Dense, Graph, SpikeInput

REFUSED = {
    "TTFS": "a time-to-first-spike neuron fires once per sample, which no NIR neuron states",
    "TTFSInt": "a time-to-first-spike neuron fires once per sample, which no NIR neuron states",
    "MultiThresholdLIF": "graded multi-threshold spikes have no NIR node (NIR spikes are 0/1)",
    "MultiThresholdLIFInt": "graded multi-threshold spikes have no NIR node (NIR spikes are 0/1)",
    "SoftResetLIF": "NIR neurons reset to v_reset, not by subtracting the threshold",
    "SoftResetLIFInt": "NIR neurons reset to v_reset, not by subtracting the threshold",
}


def _refuse(node: Any) -> UnsupportedLayerError:
    name = type(node).__name__
    reason = REFUSED.get(name) or (
        "NIR holds float models; export the float graph" if name.endswith("Int") else "it has no NIR mapping"
    )
    return UnsupportedLayerError(f"node {node.name!r}: {name} cannot be exported to NIR: {reason}")


def _neuron_nodes(dense: Dense, lif: LIF, dt: float) -> tuple[Any, Any]:
    nir = _nir()
    size = lif.size
    weight = dense.weight.astype(np.float32)
    bias = lif.bias.astype(np.float32)
    threshold = np.full(size, np.nextafter(np.float32(lif.threshold), np.float32(-np.inf)), np.float32)
    zeros = np.zeros(size, np.float32)
    metadata = {
        EXACT_KEY: {
            "threshold": float(lif.threshold),
            "current_decay": float(lif.current_decay),
            "voltage_decay": float(lif.voltage_decay),
        }
    }
    cd, vd = float(lif.current_decay), float(lif.voltage_decay)
    full = np.ones(size, np.float64)
    if cd == 1.0:
        synapse = nir.Affine(weight=weight, bias=bias)
        if vd == 1.0:
            return synapse, nir.Threshold(threshold=threshold, metadata=metadata)
        if vd == 0.0:
            return synapse, nir.IF(r=full / dt, v_threshold=threshold, v_reset=zeros, metadata=metadata)
        return synapse, nir.LIF(
            tau=full * (dt / vd), r=full / vd, v_leak=np.zeros(size), v_threshold=threshold, v_reset=zeros,
            metadata=metadata,
        )  # fmt: skip
    if vd == 0.0:
        raise UnsupportedLayerError(
            f"node {lif.name!r}: a CUBA neuron with current_decay {cd} and voltage_decay 0 has no NIR CubaLIF form "
            "(tau_mem would be infinite)"
        )
    neuron = nir.CubaLIF(
        tau_syn=full * (dt / cd), tau_mem=full * (dt / vd), r=full / vd, v_leak=bias.astype(np.float64) / vd,
        v_threshold=threshold, v_reset=zeros, w_in=full / cd, metadata=metadata,
    )  # fmt: skip
    return nir.Linear(weight=weight), neuron


def graph_to_nir(graph: Graph, dt: float = DEFAULT_DT) -> Any:
    """Return the float ``graph`` as a ``nir.NIRGraph`` (``metadata``: ``dt``, ``timesteps``).

    Raises:
        UnsupportedLayerError: for nodes NIR cannot express (see the module docstring) or
            a graph that is not a ``Dense -> LIF`` chain.
    """
    nir = _nir()
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    previous = None
    for node in graph.nodes:
        if isinstance(node, SpikeInput):
            nodes["input"] = nir.Input(input_type=np.array([node.size]))
            previous = "input"
        elif isinstance(node, Dense):
            continue
        elif isinstance(node, LIF):
            dense = graph.node(node.inputs[0])
            if not isinstance(dense, Dense) or len(dense.inputs) != 1:
                raise UnsupportedLayerError(f"node {node.name!r}: NIR export takes LIF layers fed by one Dense")
            synapse, neuron = _neuron_nodes(dense, node, dt)
            nodes[dense.name], nodes[node.name] = synapse, neuron
            edges += [(previous, dense.name), (dense.name, node.name)]
            previous = node.name
        else:
            raise _refuse(node)
    consumers = [n for n in graph.nodes if previous in n.inputs] if previous else []
    if previous is None or previous == "input" or consumers:
        raise UnsupportedLayerError("NIR export takes a chain SpikeInput -> (Dense -> LIF)+")
    nodes["output"] = nir.Output(output_type=np.array([graph.node(previous).size]))
    edges.append((previous, "output"))
    metadata = {
        "dt": float(dt),
        "timesteps": int(graph.timesteps),
        "producer": "latdeploy",
        "encoding": graph.input.encoding,
        GRAPH_METADATA_KEY: json.dumps(graph.metadata, sort_keys=True),
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def write_nir(graph: Graph, path: str | os.PathLike[str], dt: float = DEFAULT_DT) -> Path:
    """Write ``graph`` to the NIR file ``path`` atomically; returns the path.

    Raises:
        UnsupportedLayerError: see :func:`graph_to_nir`.
    """
    nir = _nir()
    nir_graph = graph_to_nir(graph, dt)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(descriptor)
    try:
        nir.write(temporary, nir_graph)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path
