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

Supported: ``Input``, ``Output``, ``Affine``, ``Linear``, ``Conv2d`` (weights as torch
lays them out, spatial axes (H, W)), ``SumPool2d``, ``AvgPool2d``, ``Flatten`` (C order),
``Delay`` (whole multiples of ``dt`` on spikes, as an axonal delay), ``IF``, ``LIF``,
``CubaLIF``, ``Threshold``, in a chain. Per-neuron decays and
thresholds must be uniform (latdeploy's neuron nodes hold scalars). Anything else
raises :class:`~latdeploy.errors.UnsupportedLayerError` naming the node.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from latdeploy.errors import ModelFormatError, UnsupportedLayerError, naming_file, one_line
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
        raise ModelFormatError(f"{path}: not a readable NIR file ({one_line(error)})") from error
    with naming_file(path, "NIR file"):
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


def _pair(value: Any, where: str, what: str) -> tuple[int, int]:
    array = np.asarray(value).reshape(-1)
    if array.size == 1:
        array = np.repeat(array, 2)
    if array.size != 2 or np.any(array != np.round(array)):
        raise UnsupportedLayerError(f"{where}: {what} {array.tolist()} must be one or two integers")
    return int(array[0]), int(array[1])


def _conv_padding(node: Any, kernel: tuple[int, int], stride: tuple[int, int], where: str) -> tuple[int, int]:
    padding = node.padding
    if isinstance(padding, (str, bytes)):
        padding = padding.decode() if isinstance(padding, bytes) else padding
        if padding == "valid":
            return 0, 0
        if stride == (1, 1) and kernel[0] % 2 and kernel[1] % 2:
            return kernel[0] // 2, kernel[1] // 2
        raise UnsupportedLayerError(f"{where}: padding 'same' needs stride 1 and an odd kernel")
    return _pair(padding, where, "padding")


def _synapse(node: Any, name: str, shape: tuple[int, ...], where: str) -> tuple[dict[str, Any], tuple[int, ...]]:
    """Return (pending synapse description, output shape) of an NIR synapse node on input ``shape``."""
    from latdeploy.ir.conv import Conv2d, Pool2d, conv_output_size

    nir = _nir()
    size = int(np.prod(shape))
    if isinstance(node, (nir.Affine, nir.Linear)):
        weight = np.asarray(node.weight, np.float64)
        if weight.ndim != 2 or weight.shape[1] != size:
            raise UnsupportedLayerError(f"{where}: weight of shape {weight.shape} does not take {size} inputs")
        bias = np.asarray(node.bias, np.float64).reshape(-1) if isinstance(node, nir.Affine) else None
        return {"name": name, "type": Dense, "weight": weight, "bias": bias, "fields": {}}, (weight.shape[0],)
    if not isinstance(node, (nir.Conv2d, nir.SumPool2d, nir.AvgPool2d)):
        raise UnsupportedLayerError(
            f"{where}: NIR {type(node).__name__} is not supported; supported: Input, Output, Affine, Linear, "
            "Conv2d, SumPool2d, AvgPool2d, Flatten, Delay, IF, LIF, CubaLIF, Threshold"
        )
    if len(shape) != 3:
        raise UnsupportedLayerError(f"{where}: {type(node).__name__} needs a (C, H, W) input, got shape {list(shape)}")
    channels, height, width = shape
    geometry = {"in_channels": channels, "in_height": height, "in_width": width}
    if isinstance(node, nir.Conv2d):
        weight = np.asarray(node.weight, np.float64)
        kernel = (int(weight.shape[2]), int(weight.shape[3]))
        if _pair(node.dilation, where, "dilation") != (1, 1):
            raise UnsupportedLayerError(f"{where}: dilation {node.dilation} is not supported")
        stride = _pair(node.stride, where, "stride")
        padding = _conv_padding(node, kernel, stride, where)
        fields = {**geometry, "groups": int(node.groups), "stride_h": stride[0], "stride_w": stride[1],
                  "padding_h": padding[0], "padding_w": padding[1]}  # fmt: skip
        out = (
            int(weight.shape[0]),
            conv_output_size(height, kernel[0], stride[0], padding[0]),
            conv_output_size(width, kernel[1], stride[1], padding[1]),
        )
        bias = np.repeat(np.asarray(node.bias, np.float64).reshape(-1), out[1] * out[2])
        return {"name": name, "type": Conv2d, "weight": weight, "bias": bias, "fields": fields}, out
    kernel = _pair(node.kernel_size, where, "kernel_size")
    stride = _pair(node.stride, where, "stride")
    padding = _pair(node.padding, where, "padding")
    mode = "sum" if isinstance(node, nir.SumPool2d) else "avg"
    fields = {**geometry, "kernel_h": kernel[0], "kernel_w": kernel[1], "mode": mode, "stride_h": stride[0],
              "stride_w": stride[1], "padding_h": padding[0], "padding_w": padding[1]}  # fmt: skip
    out = (
        channels,
        conv_output_size(height, kernel[0], stride[0], padding[0]),
        conv_output_size(width, kernel[1], stride[1], padding[1]),
    )
    return {"name": name, "type": Pool2d, "weight": None, "bias": None, "fields": fields}, out


def _emit_synapses(
    pending: list[dict[str, Any]], gain: np.ndarray, shape: tuple[int, ...], upstream: str, where: str
) -> tuple[list[Node], np.ndarray]:
    """Fold the neuron's input ``gain`` into the pending synapses; return (IR nodes, bias they add)."""
    weighted = [i for i, synapse in enumerate(pending) if synapse["weight"] is not None]
    channels = shape[0] if len(shape) == 3 else None
    per_channel = gain.reshape(channels, -1) if channels else gain.reshape(-1, 1)
    if not weighted:
        if np.any(gain != 1.0):
            raise UnsupportedLayerError(f"{where}: the neuron's input gain cannot be folded into a pooling layer")
    elif weighted[-1] != len(pending) - 1 and np.any(per_channel != per_channel[:, :1]):
        raise UnsupportedLayerError(f"{where}: a per-neuron input gain cannot pass through a pooling layer")
    bias = np.zeros(gain.size)
    nodes: list[Node] = []
    for index, synapse in enumerate(pending):
        weight = synapse["weight"]
        if synapse["bias"] is not None and np.any(synapse["bias"] != 0):
            if index != len(pending) - 1:
                raise UnsupportedLayerError(f"{where}: a synapse bias before a pooling layer is not supported")
            bias = gain * synapse["bias"]
        if weighted and index == weighted[-1]:
            if synapse["type"] is Dense:
                weight = gain.reshape(-1, 1) * weight if index == len(pending) - 1 else weight
            else:
                if np.any(per_channel != per_channel[:, :1]):
                    raise UnsupportedLayerError(f"{where}: the neuron's input gain differs within a channel")
                weight = per_channel[:, 0].reshape(-1, 1, 1, 1) * weight
        extra = {} if weight is None else {"weight": weight.astype(np.float32)}
        nodes.append(synapse["type"](synapse["name"], (upstream,), **extra, **synapse["fields"]))
        upstream = synapse["name"]
    return nodes, bias


def graph_from_nir(graph: Any, dt: float | None = None, where: str = "NIR graph") -> Graph:
    """Return the float latdeploy graph of the NIR graph ``graph`` (see the module docstring).

    Raises:
        UnsupportedLayerError: for nodes, topologies or parameters latdeploy cannot express.
    """
    from latdeploy.ir.conv import AxonalDelay

    nir = _nir()
    metadata = dict(getattr(graph, "metadata", None) or {})
    step = float(metadata.get("dt", dt if dt is not None else DEFAULT_DT))
    nodes: list[Node] = []
    pending: list[dict[str, Any]] = []
    shape: tuple[int, ...] = ()
    for name in _chain(graph, where):
        node = graph.nodes[name]
        here = f"{where}: node {name!r}"
        if isinstance(node, nir.Input):
            shape = tuple(int(s) for s in np.asarray(node.input_type["input"]).reshape(-1))
            encoding = metadata.get("encoding", "nir")
            encoding = encoding.decode() if isinstance(encoding, bytes) else str(encoding)
            nodes.append(SpikeInput("input", (), neurons=int(np.prod(shape)), encoding=encoding))
        elif isinstance(node, nir.Output):
            if pending:
                raise UnsupportedLayerError(f"{here}: the graph ends in a synapse; latdeploy graphs end in neurons")
        elif isinstance(node, nir.Flatten):
            shape = (int(np.prod(shape)),)
        elif isinstance(node, nir.Delay):
            if pending:
                raise UnsupportedLayerError(f"{here}: a Delay between synapses delays currents; only spikes")
            steps = _uniform(node.delay, "delay", here) / step
            if abs(steps - round(steps)) > 1e-6 or round(steps) < 1:
                raise UnsupportedLayerError(f"{here}: delay {steps * step} s is not a whole number >= 1 of dt {step}")
            nodes.append(AxonalDelay(name, (nodes[-1].name,), neurons=int(np.prod(shape)), steps=int(round(steps))))
        elif isinstance(node, (nir.IF, nir.LIF, nir.CubaLIF, nir.Threshold)):
            if not pending:
                raise UnsupportedLayerError(f"{here}: a neuron must follow a synapse (Affine, Linear, Conv2d, pooling)")
            size = int(np.prod(shape))
            fields, gain, leak_bias, has_current = _neuron(node, size, step, here)
            synapses, synapse_bias = _emit_synapses(pending, gain, shape, nodes[-1].name, here)
            if has_current and np.any(synapse_bias != 0):
                raise UnsupportedLayerError(
                    f"{here}: a synapse bias into a CubaLIF with current decay feeds the current, "
                    "which latdeploy's neuron bias (added to v) cannot express"
                )
            bias = (leak_bias + synapse_bias).astype(np.float32)
            nodes.extend(synapses)
            nodes.append(LIF(name, (synapses[-1].name,), bias=bias, **_exact(node, fields)))
            pending = []
        else:
            description, shape = _synapse(node, name, shape, here)
            pending.append(description)
    timesteps = int(metadata.get("timesteps", DEFAULT_TIMESTEPS))
    stored = metadata.get(GRAPH_METADATA_KEY)
    if stored is not None:
        kept = json.loads(stored.decode() if isinstance(stored, bytes) else stored)
    else:
        kept = {k: v for k, v in metadata.items() if isinstance(v, (str, int, float, bool))}
        kept.update(dt=step, source="nir")
    return Graph(tuple(nodes), {**kept, "timesteps": timesteps})
