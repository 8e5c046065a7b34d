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

One writer per node class in :data:`NIR_WRITERS` (a synapse, delay or neuron writer);
:data:`NIR_REFUSALS` states why a class has no NIR form; any other class is refused with
the registry's uniform error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nir
import numpy as np

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.nir import DEFAULT_DT, EXACT_KEY, GRAPH_METADATA_KEY
from latdeploy.ir import (
    LIF,
    TTFS,
    AxonalDelay,
    Conv2d,
    Dense,
    Graph,
    MultiThresholdLIF,
    MultiThresholdLIFInt,
    Node,
    Pool2d,
    SoftResetLIF,
    SoftResetLIFInt,
    TTFSInt,
)
from latdeploy.registry import Registry
from latdeploy.report.bundle import atomic_file
from latdeploy.sim.fixed import FIXED_KERNELS


@dataclass(frozen=True)
class SynapseWriter:
    """How a float synapse class is written.

    ``write(node, bias)`` returns the NIR node of ``node``, ``bias`` being the next
    neuron's bias per output (or ``None``); a ``spatial`` synapse reads and gives
    ``(C, H, W)`` values (``node.in_shape``, ``node.out_shape``), any other a flat vector.
    """

    write: Callable[[Any, np.ndarray | None], Any]
    spatial: bool


@dataclass(frozen=True)
class DelayWriter:
    """How a spike delay class is written: ``write(node, shape, dt)`` returns its NIR node."""

    write: Callable[[Any, tuple[int, ...], float], Any]


@dataclass(frozen=True)
class NeuronWriter:
    """How a float neuron class is written.

    ``write(node, shape, dt)`` returns ``(NIR neuron with parameters of shape, whether
    the neuron's bias rides on the synapse before it)``.
    """

    write: Callable[[Any, tuple[int, ...], float], tuple[Any, bool]]


NirWriter = SynapseWriter | DelayWriter | NeuronWriter
NIR_WRITERS: Registry[type[Node], NirWriter] = Registry("NIR writer", hint="NIR export takes float graphs")
"""The NIR writer of each node class."""
NIR_REFUSALS: Registry[type[Node], str] = Registry("NIR refusal")
"""Why a node class has no NIR form."""

FLOAT_MODELS_ONLY = "NIR holds float models; export the float graph"


def writer_of(node: Node) -> NirWriter:
    """Return the NIR writer of ``node``'s class.

    Raises:
        UnsupportedLayerError: naming the node and the reason, for a class in
            :data:`NIR_REFUSALS`, an integer node (one with a fixed-point kernel) or a
            class with no writer.
    """
    reason = NIR_REFUSALS.find(type(node))
    if reason is None and type(node) not in NIR_WRITERS and type(node) in FIXED_KERNELS:
        reason = FLOAT_MODELS_ONLY
    if reason is not None:
        raise UnsupportedLayerError(f"node {node.name!r}: {type(node).__name__} cannot be exported to NIR: {reason}")
    return NIR_WRITERS.get(type(node), subject=f"node {node.name!r}")


FIRES_ONCE = "a time-to-first-spike neuron fires once per sample, which no NIR neuron states"
GRADED = "graded multi-threshold spikes have no NIR node (NIR spikes are 0/1)"
SOFT_RESET = "NIR neurons reset to v_reset, not by subtracting the threshold"
for refused, reason in (
    (TTFS, FIRES_ONCE),
    (TTFSInt, FIRES_ONCE),
    (MultiThresholdLIF, GRADED),
    (MultiThresholdLIFInt, GRADED),
    (SoftResetLIF, SOFT_RESET),
    (SoftResetLIFInt, SOFT_RESET),
):
    NIR_REFUSALS.add(refused, reason)


def _lif(lif: LIF, shape: tuple[int, ...], dt: float) -> tuple[Any, bool]:
    """Return (NIR neuron with parameters of ``shape``, whether the bias goes into the last synapse)."""
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


NIR_WRITERS.add(LIF, NeuronWriter(_lif))


def _dense(node: Dense, bias: np.ndarray | None) -> Any:
    weight = node.weight.astype(np.float32)
    return nir.Linear(weight=weight) if bias is None else nir.Affine(weight=weight, bias=bias.astype(np.float32))


def _conv(node: Conv2d, bias: np.ndarray | None) -> Any:
    channels = node.out_channels
    per_channel = np.zeros(channels, np.float32)
    if bias is not None:
        grid = bias.reshape(channels, -1)
        if np.any(grid != grid[:, :1]):
            raise UnsupportedLayerError(
                f"node {node.name!r}: the next neuron's bias differs within a channel; NIR's Conv2d bias is per channel"
            )
        per_channel = grid[:, 0].astype(np.float32)
    return nir.Conv2d(
        input_shape=(node.in_height, node.in_width), weight=node.weight.astype(np.float32),
        stride=(node.stride_h, node.stride_w), padding=(node.padding_h, node.padding_w), dilation=(1, 1),
        groups=node.groups, bias=per_channel,
    )  # fmt: skip


def _pool(node: Pool2d, bias: np.ndarray | None) -> Any:
    if bias is not None and np.any(bias != 0):
        raise UnsupportedLayerError(f"node {node.name!r}: NIR pooling has no bias for the next neuron's bias")
    pool = nir.SumPool2d if node.mode == "sum" else nir.AvgPool2d
    return pool(
        kernel_size=np.array([node.kernel_h, node.kernel_w]), stride=np.array([node.stride_h, node.stride_w]),
        padding=np.array([node.padding_h, node.padding_w]),
    )  # fmt: skip


def _delay(node: AxonalDelay, shape: tuple[int, ...], dt: float) -> Any:
    return nir.Delay(delay=np.full(shape, node.steps * dt))


NIR_WRITERS.add(Dense, SynapseWriter(_dense, spatial=False))
NIR_WRITERS.add(Conv2d, SynapseWriter(_conv, spatial=True))
NIR_WRITERS.add(Pool2d, SynapseWriter(_pool, spatial=True))
NIR_WRITERS.add(AxonalDelay, DelayWriter(_delay))


def _out_shape(node: Node, writer: SynapseWriter) -> tuple[int, ...]:
    return tuple(node.out_shape) if writer.spatial else (node.size,)


def _input_shape(graph: Graph) -> tuple[int, ...]:
    for node in graph.nodes:
        if graph.input.name in node.inputs:
            writer = NIR_WRITERS.find(type(node))
            if isinstance(writer, SynapseWriter) and writer.spatial:
                return tuple(node.in_shape)
            if isinstance(writer, DelayWriter):
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
    shape = _input_shape(graph)
    nodes: dict[str, Any] = {"input": nir.Input(input_type=np.array(shape))}
    edges: list[tuple[str, str]] = []
    upstream, ir_upstream = "input", graph.input.name
    pending: list[tuple[Node, SynapseWriter]] = []

    def connect(name: str, nir_node: Any) -> None:
        nonlocal upstream
        nodes[name] = nir_node
        edges.append((upstream, name))
        upstream = name

    for node in graph.nodes[1:]:
        if node.inputs != (ir_upstream,):
            raise UnsupportedLayerError(f"node {node.name!r}: NIR export takes a chain; it does not follow the chain")
        ir_upstream = node.name
        writer = writer_of(node)
        if isinstance(writer, SynapseWriter):
            pending.append((node, writer))
        elif isinstance(writer, DelayWriter):
            if pending:
                raise UnsupportedLayerError(f"node {node.name!r}: NIR export delays spikes only, not currents")
            connect(node.name, writer.write(node, shape, dt))
        else:
            if not pending:
                raise UnsupportedLayerError(f"node {node.name!r}: NIR export takes LIF layers fed by a synapse")
            out_shape = _out_shape(*pending[-1])
            neuron, bias_in_synapse = writer.write(node, out_shape, dt)
            for index, (synapse, synapse_writer) in enumerate(pending):
                if not synapse_writer.spatial and len(shape) > 1:
                    connect(f"{synapse.name}_flatten", nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0))
                last = index == len(pending) - 1
                connect(synapse.name, synapse_writer.write(synapse, node.bias if last and bias_in_synapse else None))
                shape = _out_shape(synapse, synapse_writer)
            connect(node.name, neuron)
            pending = []
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
    nir_graph = graph_to_nir(graph, dt)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as temporary:
        nir.write(str(temporary), nir_graph)
    return path
