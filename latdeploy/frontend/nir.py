"""IR from NIR graphs (the ``nir`` package): snnTorch, Norse, Sinabs, Rockpool, SpikingJelly, lava-dl write them.

NIR states continuous-time equations; latdeploy's float ``LIF`` is their forward-Euler
discretisation with step ``dt`` (the graph's ``metadata["dt"]`` when it has one, else
the ``dt`` argument, default :data:`DEFAULT_DT` = 1e-4 s as snnTorch exports)::

    IF       dv/dt = R I                          -> v += dt R I
    LIF      tau dv/dt = (v_leak - v) + R I       -> v = v (1 - dt/tau) + dt/tau (v_leak + R I)
    CubaLIF  tau_syn dI/dt = -I + w_in S          -> I = I (1 - dt/tau_syn) + dt/tau_syn w_in S
             tau_mem dv/dt = (v_leak - v) + R I   -> v = v (1 - dt/tau_mem) + dt/tau_mem (v_leak + R I)
    Threshold z = v > v_thr (no state)

so ``voltage_decay = dt/tau(_mem)``, ``current_decay = dt/tau_syn`` (1 without a
current state), the per-neuron input gain (``dt/tau R``, times ``dt/tau_syn w_in``) is
folded into the preceding ``Linear``/``Affine`` weights, ``bias = dt/tau v_leak`` plus
the gained ``Affine`` bias. NIR fires on ``v > v_thr``, latdeploy on ``v >= threshold``
in float32: the threshold becomes the next float32 above ``v_thr``, which makes the two
conditions identical. Both reset to ``v_reset``, which must be 0.

Supported: ``Input``, ``Output``, ``Affine``, ``Linear``, ``IF``, ``LIF``, ``CubaLIF``,
``Threshold``, and ``Flatten`` of flat data, in a chain. Per-neuron decays and
thresholds must be uniform (latdeploy's neuron nodes hold scalars). Anything else
raises :class:`~latdeploy.errors.UnsupportedLayerError` naming the node.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from latdeploy.errors import ModelFormatError, UnsupportedLayerError
from latdeploy.ir import LIF, Dense, Graph, Node, SpikeInput

DEFAULT_DT = 1e-4
DEFAULT_TIMESTEPS = 1
EXACT_KEY = "latdeploy"  # node metadata written by latdeploy's exporter: the exact float fields
GRAPH_METADATA_KEY = "latdeploy.metadata"  # graph metadata written by latdeploy's exporter (JSON)


def _nir():
    try:
        import nir
    except ImportError as error:
        raise ModelFormatError("NIR support needs the 'nir' package: pip install nir") from error
    return nir


def read_nir(path: str | os.PathLike[str], dt: float | None = None) -> Graph:
    """Read the NIR file ``path`` and return its float graph (see :func:`graph_from_nir`).

    Raises:
        ModelFormatError: if the file is missing or not a NIR file.
        UnsupportedLayerError: for NIR nodes or parameters latdeploy cannot express.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(f"{path}: no such NIR file")
    nir = _nir()
    try:
        graph = nir.read(str(path))
    except Exception as error:  # h5py and nir raise many types for foreign files
        raise ModelFormatError(f"{path}: not a readable NIR file ({type(error).__name__}: {error})") from error
    return graph_from_nir(graph, dt=dt, where=path.name)


def _chain(graph: Any, where: str) -> list[str]:
    nir = _nir()
    inputs = [name for name, node in graph.nodes.items() if isinstance(node, nir.Input)]
    if len(inputs) != 1:
        raise UnsupportedLayerError(f"{where}: NIR graph has {len(inputs)} Input nodes; latdeploy takes one")
    successors: dict[str, list[str]] = {}
    for source, target in graph.edges:
        successors.setdefault(source, []).append(target)
    order, current = [inputs[0]], inputs[0]
    while current in successors:
        following = successors[current]
        if len(following) != 1:
            raise UnsupportedLayerError(f"{where}: NIR node {current!r} feeds {len(following)} nodes; only chains")
        current = following[0]
        if current in order:
            raise UnsupportedLayerError(f"{where}: NIR graph has a cycle through {current!r}; only chains")
        order.append(current)
    if len(order) != len(graph.nodes):
        missing = sorted(set(graph.nodes) - set(order))
        raise UnsupportedLayerError(f"{where}: NIR nodes {missing} are not on the chain from the Input")
    return order


def _uniform(values: Any, what: str, where: str) -> float:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size == 0 or not np.all(array == array[0]):
        raise UnsupportedLayerError(f"{where}: per-neuron {what} differs across neurons; latdeploy holds one value")
    return float(array[0])


def _threshold(v_threshold: Any, where: str) -> float:
    threshold = np.float32(_uniform(v_threshold, "v_threshold", where))
    return float(np.nextafter(threshold, np.float32(np.inf)))


def _check_reset(node: Any, where: str) -> None:
    v_reset = getattr(node, "v_reset", None)
    if v_reset is not None and np.any(np.asarray(v_reset) != 0):
        raise UnsupportedLayerError(f"{where}: v_reset must be 0 (latdeploy's LIF resets to zero)")


def _neuron(node: Any, size: int, dt: float, where: str) -> tuple[dict[str, Any], np.ndarray, np.ndarray, bool]:
    """Return (LIF fields except bias, per-neuron input gain, bias from v_leak, current state?)."""
    nir = _nir()
    ones = np.ones(size)
    if isinstance(node, nir.Threshold):
        fields = {"threshold": _threshold(node.threshold, where), "current_decay": 1.0, "voltage_decay": 1.0}
        return fields, ones, np.zeros(size), False
    _check_reset(node, where)
    r = np.broadcast_to(np.asarray(node.r, np.float64).reshape(-1), (size,))
    if isinstance(node, nir.IF):
        fields = {"threshold": _threshold(node.v_threshold, where), "current_decay": 1.0, "voltage_decay": 0.0}
        return fields, dt * r, np.zeros(size), False
    if isinstance(node, nir.LIF):
        decay = dt / _uniform(node.tau, "tau", where)
        leak = np.broadcast_to(np.asarray(node.v_leak, np.float64).reshape(-1), (size,))
        fields = {"threshold": _threshold(node.v_threshold, where), "current_decay": 1.0, "voltage_decay": decay}
        return fields, decay * r, decay * leak, False
    if isinstance(node, nir.CubaLIF):
        current_decay = dt / _uniform(node.tau_syn, "tau_syn", where)
        voltage_decay = dt / _uniform(node.tau_mem, "tau_mem", where)
        leak = np.broadcast_to(np.asarray(node.v_leak, np.float64).reshape(-1), (size,))
        w_in = np.broadcast_to(np.asarray(node.w_in, np.float64).reshape(-1), (size,))
        fields = {
            "threshold": _threshold(node.v_threshold, where),
            "current_decay": current_decay,
            "voltage_decay": voltage_decay,
        }
        return fields, current_decay * w_in * voltage_decay * r, voltage_decay * leak, current_decay != 1.0
    raise UnsupportedLayerError(f"{where}: NIR {type(node).__name__} is not supported")


def _exact(node: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """Prefer the exact latdeploy values a latdeploy export left in the node's metadata."""
    stored = (getattr(node, "metadata", None) or {}).get(EXACT_KEY)
    if not isinstance(stored, dict):
        return fields
    exact = dict(fields)
    for key, value in fields.items():
        original = stored.get(key)
        if original is None:
            continue
        same = (
            float(np.float32(original)) == value  # thresholds act in float32
            if key == "threshold"
            else np.isclose(float(original), value, rtol=1e-12, atol=0.0)
        )
        if same:
            exact[key] = float(original)
    return exact


def graph_from_nir(graph: Any, dt: float | None = None, where: str = "NIR graph") -> Graph:
    """Return the float latdeploy graph of the NIR graph ``graph`` (see the module docstring).

    Raises:
        UnsupportedLayerError: for nodes, topologies or parameters latdeploy cannot express.
    """
    nir = _nir()
    metadata = dict(getattr(graph, "metadata", None) or {})
    step = float(metadata.get("dt", dt if dt is not None else DEFAULT_DT))
    order = _chain(graph, where)
    nodes: list[Node] = []
    pending: tuple[str, np.ndarray, np.ndarray | None] | None = None
    previous_size = 0
    for name in order:
        node = graph.nodes[name]
        here = f"{where}: node {name!r}"
        if isinstance(node, nir.Input):
            previous_size = int(np.prod(node.input_type["input"]))
            encoding = metadata.get("encoding", "nir")
            encoding = encoding.decode() if isinstance(encoding, bytes) else str(encoding)
            nodes.append(SpikeInput("input", (), neurons=previous_size, encoding=encoding))
        elif isinstance(node, nir.Output):
            if pending is not None:
                raise UnsupportedLayerError(f"{here}: the graph ends in a synapse; latdeploy graphs end in neurons")
        elif isinstance(node, nir.Flatten):
            continue
        elif isinstance(node, (nir.Affine, nir.Linear)):
            if pending is not None:
                raise UnsupportedLayerError(f"{here}: two synapse layers in a row; put a neuron between them")
            weight = np.asarray(node.weight, np.float64)
            if weight.ndim != 2 or weight.shape[1] != previous_size:
                raise UnsupportedLayerError(
                    f"{here}: weight of shape {weight.shape} does not take {previous_size} inputs"
                )
            bias = np.asarray(node.bias, np.float64).reshape(-1) if isinstance(node, nir.Affine) else None
            pending = (name, weight, bias)
        elif isinstance(node, (nir.IF, nir.LIF, nir.CubaLIF, nir.Threshold)):
            if pending is None:
                raise UnsupportedLayerError(f"{here}: a neuron must follow an Affine or Linear node")
            synapse_name, weight, bias = pending
            size = weight.shape[0]
            fields, gain, leak_bias, has_current = _neuron(node, size, step, here)
            total_bias = leak_bias.copy()
            if bias is not None and np.any(bias != 0):
                if has_current:
                    raise UnsupportedLayerError(
                        f"{here}: an Affine bias into a CubaLIF with current decay feeds the current, "
                        "which latdeploy's neuron bias (added to v) cannot express"
                    )
                total_bias = total_bias + gain * bias
            nodes.append(Dense(synapse_name, (nodes[-1].name,), weight=(gain[:, None] * weight).astype(np.float32)))
            nodes.append(LIF(name, (synapse_name,), bias=total_bias.astype(np.float32), **_exact(node, fields)))
            pending, previous_size = None, size
        else:
            raise UnsupportedLayerError(
                f"{here}: NIR {type(node).__name__} is not supported; supported: Input, Output, Affine, Linear, "
                "IF, LIF, CubaLIF, Threshold, Flatten"
            )
    timesteps = int(metadata.get("timesteps", DEFAULT_TIMESTEPS))
    stored = metadata.get(GRAPH_METADATA_KEY)
    if stored is not None:
        kept = json.loads(stored.decode() if isinstance(stored, bytes) else stored)
    else:
        kept = {k: v for k, v in metadata.items() if isinstance(v, (str, int, float, bool))}
        kept.update(dt=step, source="nir")
    return Graph(tuple(nodes), {**kept, "timesteps": timesteps})
