"""Float IR -> NIR graph / ``.nir`` file, the inverse of :mod:`latdeploy.frontend.nir` (same ``dt`` convention).

Chains of ``Dense`` / ``Conv2d`` / ``Pool2d`` synapses, ``AxonalDelay`` (a NIR ``Delay`` of
``steps * dt``) and ``LIF`` neurons; the synapse into each neuron is an ``Affine`` (or
``Conv2d`` with its per-channel bias) when the neuron's bias can ride on it. Per
neuron (``cd`` = current_decay, ``vd`` = voltage_decay)::

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
from pathlib import Path
from typing import Any

import numpy as np

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.nir import DEFAULT_DT, EXACT_KEY, GRAPH_METADATA_KEY, _nir
from latdeploy.ir import LIF, Dense, Graph, Node
from latdeploy.ir.conv import AxonalDelay, Conv2d, Pool2d
from latdeploy.report.bundle import atomic_file

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


def _neuron(lif: LIF, shape: tuple[int, ...], dt: float) -> tuple[Any, bool]:
    """Return (NIR neuron with parameters of ``shape``, whether the bias goes into the last synapse)."""
    nir = _nir()
    threshold = np.full(shape, np.nextafter(np.float32(lif.threshold), np.float32(-np.inf)), np.float32)
    zeros, full = np.zeros(shape, np.float32), np.ones(shape, np.float64)
    metadata = {
        EXACT_KEY: {
            "threshold": float(lif.threshold),
            "current_decay": float(lif.current_decay),
            "voltage_decay": float(lif.voltage_decay),
        }
    }
    cd, vd = float(lif.current_decay), float(lif.voltage_decay)
    if cd == 1.0:
        if vd == 1.0:
            return nir.Threshold(threshold=threshold, metadata=metadata), True
        if vd == 0.0:
            return nir.IF(r=full / dt, v_threshold=threshold, v_reset=zeros, metadata=metadata), True
        neuron = nir.LIF(
            tau=full * (dt / vd), r=full / vd, v_leak=np.zeros(shape), v_threshold=threshold, v_reset=zeros,
            metadata=metadata,
        )  # fmt: skip
        return neuron, True
    if vd == 0.0:
        raise UnsupportedLayerError(
            f"node {lif.name!r}: a CUBA neuron with current_decay {cd} and voltage_decay 0 has no NIR CubaLIF form "
            "(tau_mem would be infinite)"
        )
    leak = lif.bias.astype(np.float64).reshape(shape) / vd
    neuron = nir.CubaLIF(
        tau_syn=full * (dt / cd), tau_mem=full * (dt / vd), r=full / vd, v_leak=leak,
        v_threshold=threshold, v_reset=zeros, w_in=full / cd, metadata=metadata,
    )  # fmt: skip
    return neuron, False


def _out_shape(node: Node, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(node.out_shape) if isinstance(node, (Conv2d, Pool2d)) else (node.size,)


def _synapse(node: Node, shape: tuple[int, ...], bias: np.ndarray | None) -> Any:
    """Return the NIR node of IR synapse ``node`` on input ``shape``; ``bias`` per output neuron or None."""
    nir = _nir()
    if isinstance(node, Dense):
        weight = node.weight.astype(np.float32)
        return nir.Linear(weight=weight) if bias is None else nir.Affine(weight=weight, bias=bias.astype(np.float32))
    if isinstance(node, Conv2d):
        channels = node.out_channels
        per_channel = np.zeros(channels, np.float32)
        if bias is not None:
            grid = bias.reshape(channels, -1)
            if np.any(grid != grid[:, :1]):
                raise UnsupportedLayerError(
                    f"node {node.name!r}: the next neuron's bias differs within a channel; NIR's Conv2d bias is "
                    "per channel"
                )
            per_channel = grid[:, 0].astype(np.float32)
        return nir.Conv2d(
            input_shape=(node.in_height, node.in_width), weight=node.weight.astype(np.float32),
            stride=(node.stride_h, node.stride_w), padding=(node.padding_h, node.padding_w), dilation=(1, 1),
            groups=node.groups, bias=per_channel,
        )  # fmt: skip
    if bias is not None and np.any(bias != 0):
        raise UnsupportedLayerError(f"node {node.name!r}: NIR pooling has no bias for the next neuron's bias")
    pool = nir.SumPool2d if node.mode == "sum" else nir.AvgPool2d
    return pool(
        kernel_size=np.array([node.kernel_h, node.kernel_w]), stride=np.array([node.stride_h, node.stride_w]),
        padding=np.array([node.padding_h, node.padding_w]),
    )  # fmt: skip


def _input_shape(graph: Graph) -> tuple[int, ...]:
    for node in graph.nodes:
        if graph.input.name in node.inputs:
            if isinstance(node, (Conv2d, Pool2d)):
                return tuple(node.in_shape)
            if isinstance(node, AxonalDelay):
                continue
            break
    return (graph.input.size,)


def graph_to_nir(graph: Graph, dt: float = DEFAULT_DT) -> Any:
    """Return the float ``graph`` as a ``nir.NIRGraph`` (``metadata``: ``dt``, ``timesteps``, ...).

    Chains of ``Dense``, ``Conv2d``, ``Pool2d`` and ``AxonalDelay`` nodes and ``LIF``
    neurons are written; a ``Flatten`` goes in front of a ``Dense`` fed by a
    ``(C, H, W)`` layer.

    Raises:
        UnsupportedLayerError: for nodes NIR cannot express (see the module docstring) or
            a graph that is not such a chain.
    """
    nir = _nir()
    shape = _input_shape(graph)
    nodes: dict[str, Any] = {"input": nir.Input(input_type=np.array(shape))}
    edges: list[tuple[str, str]] = []
    upstream, ir_upstream = "input", graph.input.name
    pending: list[Node] = []

    def connect(name: str, nir_node: Any) -> None:
        nonlocal upstream
        nodes[name] = nir_node
        edges.append((upstream, name))
        upstream = name

    for node in graph.nodes[1:]:
        if node.inputs != (ir_upstream,):
            raise UnsupportedLayerError(f"node {node.name!r}: NIR export takes a chain; it does not follow the chain")
        ir_upstream = node.name
        if isinstance(node, (Dense, Conv2d, Pool2d)):
            pending.append(node)
        elif isinstance(node, AxonalDelay):
            if pending:
                raise UnsupportedLayerError(f"node {node.name!r}: NIR export delays spikes only, not currents")
            connect(node.name, nir.Delay(delay=np.full(shape, node.steps * dt)))
        elif isinstance(node, LIF):
            if not pending:
                raise UnsupportedLayerError(f"node {node.name!r}: NIR export takes LIF layers fed by a synapse")
            out_shape = shape
            for synapse in pending:
                out_shape = _out_shape(synapse, out_shape)
            neuron, bias_in_synapse = _neuron(node, out_shape, dt)
            for index, synapse in enumerate(pending):
                if isinstance(synapse, Dense) and len(shape) > 1:
                    connect(f"{synapse.name}_flatten", nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0))
                last = index == len(pending) - 1
                connect(synapse.name, _synapse(synapse, shape, node.bias if last and bias_in_synapse else None))
                shape = _out_shape(synapse, shape)
            connect(node.name, neuron)
            pending = []
        else:
            raise _refuse(node)
    if pending or upstream == "input":
        raise UnsupportedLayerError("NIR export takes a chain SpikeInput -> (synapses -> LIF)+ ending in a neuron")
    nodes["output"] = nir.Output(output_type=np.array(shape))
    edges.append((upstream, "output"))
    metadata = {
        "dt": float(dt),
        "timesteps": int(graph.timesteps),
        "producer": "latdeploy",
        "encoding": graph.input.encoding,
        GRAPH_METADATA_KEY: json.dumps(graph.metadata, sort_keys=True),
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata, type_check=False)


def write_nir(graph: Graph, path: str | os.PathLike[str], dt: float = DEFAULT_DT) -> Path:
    """Write ``graph`` to the NIR file ``path`` atomically; returns the path.

    Raises:
        UnsupportedLayerError: see :func:`graph_to_nir`.
    """
    nir = _nir()
    nir_graph = graph_to_nir(graph, dt)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as temporary:
        nir.write(str(temporary), nir_graph)
    return path
