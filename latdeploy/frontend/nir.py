"""IR from NIR graphs (the ``nir`` package): snnTorch, Norse, Sinabs, Rockpool, SpikingJelly, lava-dl write them.

NIR states continuous-time equations; latdeploy's float ``LIF`` is their forward-Euler
discretisation with step ``dt`` (the graph's ``metadata["dt"]`` when it has one, else
the ``dt`` argument, ``--dt`` on the command line; a graph with neither is refused: snnTorch
(1e-4 s), Sinabs (discrete time: 1) and Norse (its ``dt``, 1e-3 s by default) write none)::

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

snnTorch's ``export_to_nir`` writes ``v_reset=0`` for every ``Leaky``/``Synaptic``, also for its
default subtract reset, which NIR cannot carry: a neuron with snnTorch's signature (input gain
``dt/tau r`` (times ``dt/tau_syn w_in``) exactly 1, ``v_leak`` 0, ``v_reset`` 0) is read as a reset
to zero with a :class:`ResetAssumedWarning` saying so; the live snnTorch module is the exact path
(:mod:`latdeploy.frontend.frameworks.snntorch`, ``docs/frameworks.md``).

Supported: ``Input``, ``Output``, ``Affine``, ``Linear``, ``Conv2d`` (weights as torch
lays them out, spatial axes (H, W)), ``SumPool2d``, ``AvgPool2d``, ``Flatten`` (C order),
``Delay`` (whole multiples of ``dt`` on spikes, as an axonal delay), ``IF``, ``LIF``,
``CubaLIF``, ``Threshold``, in a chain, plus recurrent connections: a neuron node feeding a
``Linear``/``Affine`` that feeds nothing but the same neuron (the NIR paper's recurrent LIF,
snnTorch's ``RLeaky``/``RSynaptic`` export) becomes a :class:`~latdeploy.ir.RecurrentDense` after
the neuron (:mod:`latdeploy.ir.recurrent`): the discrete reading delivers ``W_rec @ s[t-1]`` at step
``t``, as snnTorch's own NIR import and Lava do; its weight takes the neuron's input gain like the
feed-forward weights, an ``Affine`` bias goes into the neuron bias (gained). Any other cycle is
refused naming its nodes. Per-neuron decays and
thresholds must be uniform (latdeploy's neuron nodes hold scalars). Anything else
raises :class:`~latdeploy.errors.UnsupportedLayerError` naming the node.

One reader per NIR node class in :data:`NIR_READERS`; each reads its node into a
:class:`Reading` (the IR nodes so far, the synapses waiting for their neuron, the
current value shape).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nir
import numpy as np

from latdeploy.errors import ModelFormatError, UnsupportedLayerError, naming_file, one_line
from latdeploy.frontend.hdf5_file import check_hdf5_file
from latdeploy.ir import LIF, AxonalDelay, Conv2d, Dense, Graph, Node, Pool2d, RecurrentDense, SpikeInput
from latdeploy.ir.conv import conv_output_size
from latdeploy.ir.recurrent import RECURRENT_KIND
from latdeploy.registry import Registry
from latdeploy.untrusted.json_document import load_json

DEFAULT_TIMESTEPS = 1
DEFAULT_DT = 1e-4
"""The step latdeploy's NIR writer uses and states as metadata ``dt``."""
EXACT_KEY = "latdeploy"  # node metadata written by latdeploy's exporter: the exact float fields
GRAPH_METADATA_KEY = "latdeploy.metadata"  # graph metadata written by latdeploy's exporter (JSON)


@dataclass
class Reading:
    """What reading a NIR chain has built so far.

    ``nodes``: the IR nodes; ``pending``: synapse descriptions waiting for the neuron
    they feed (their gain is folded in then); ``shape``: the shape of the values the
    next node reads; ``step``: ``dt`` in seconds; ``metadata``: the NIR graph's; ``loops``: the
    recurrent weight node (name, NIR node) of each neuron node that has one.
    """

    step: float
    metadata: dict[str, Any]
    loops: dict[str, tuple[str, Any]] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    shape: tuple[int, ...] = ()


NirReader = Callable[[Any, str, Reading, str], None]
"""``reader(nir_node, name, reading, where)``: add the node named ``name`` to ``reading``."""

NIR_READERS: Registry[type, NirReader] = Registry("NIR reader")
"""The reader of each NIR node class."""


def read_nir(path: str | os.PathLike[str], dt: float | None = None) -> Graph:
    """Read the NIR file ``path`` and return its float graph (see :func:`graph_from_nir`).

    Raises:
        ModelFormatError: if the file is missing, not a NIR file, beyond the limits of
            :func:`~latdeploy.frontend.hdf5_file.check_hdf5_file` or links to other files.
        UnsupportedLayerError: for NIR nodes or parameters latdeploy cannot express.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(f"{path}: no such NIR file")
    check_hdf5_file(path, "NIR file")
    try:
        graph = nir.read(str(path))
    except Exception as error:  # h5py and nir raise many types for foreign files
        raise ModelFormatError(f"{path}: not a readable NIR file ({one_line(error)})") from error
    with naming_file(path, "NIR file"):
        return graph_from_nir(graph, dt=dt, where=path.name)


NEURON_CLASSES = (nir.IF, nir.LIF, nir.CubaLIF, nir.Threshold)
LOOP_CLASSES = (nir.Linear, nir.Affine)
LOOP_FORM = "a neuron layer (IF, LIF, CubaLIF, Threshold) -> Linear/Affine -> the same neuron layer"


def _loops(graph: Any) -> dict[str, str]:
    """Return ``{neuron node: its recurrent Linear/Affine node}`` for every loop of :data:`LOOP_FORM` (the
    weight node read from and feeding nothing but that neuron)."""
    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    for source, target in graph.edges:
        outgoing.setdefault(source, []).append(target)
        incoming.setdefault(target, []).append(source)
    loops = {}
    for name, node in graph.nodes.items():
        if not isinstance(node, LOOP_CLASSES) or len(incoming.get(name, [])) != 1:
            continue
        neuron = incoming[name][0]
        if outgoing.get(name) == [neuron] and isinstance(graph.nodes.get(neuron), NEURON_CLASSES):
            loops[neuron] = name
    return loops


def _find_cycle(nodes: list[str], edges: list[tuple[str, str]]) -> list[str] | None:
    """Return the nodes of one directed cycle among ``edges`` (``None`` if there is none)."""
    outgoing: dict[str, list[str]] = {}
    for source, target in edges:
        outgoing.setdefault(source, []).append(target)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for following in outgoing.get(name, []):
            if state.get(following) == 1:
                return path[path.index(following) :]
            if following not in state:
                found = visit(following)
                if found:
                    return found
        state[name] = 2
        path.pop()
        return None

    for name in nodes:
        if name not in state:
            found = visit(name)
            if found:
                return found
    return None


def _chain(graph: Any, where: str, loops: dict[str, str] | None = None) -> list[str]:
    """Return the node names from the Input along the chain, leaving out the recurrent weight nodes of ``loops``.

    Raises:
        UnsupportedLayerError: for another topology, naming the nodes of a cycle that is not a recurrent
            connection of :data:`LOOP_FORM`.
    """
    inputs = [name for name, node in graph.nodes.items() if isinstance(node, nir.Input)]
    if len(inputs) != 1:
        raise UnsupportedLayerError(f"{where}: NIR graph has {len(inputs)} Input nodes; latdeploy takes one")
    looped = set((loops or {}).values())
    edges = [(s, t) for s, t in graph.edges if s not in looped and t not in looped]
    cycle = _find_cycle(list(graph.nodes), edges)
    if cycle is not None:
        raise UnsupportedLayerError(
            f"{where}: NIR graph has a cycle through {cycle} that is not a recurrent connection; latdeploy "
            f"supports loops of the form {LOOP_FORM} only"
        )
    successors: dict[str, list[str]] = {}
    for source, target in edges:
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
    if len(order) + len(looped) != len(graph.nodes):
        missing = sorted(set(graph.nodes) - set(order) - looped)
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


class ResetAssumedWarning(UserWarning):
    """A NIR neuron's reset was read as written although its writer may have meant another."""


def _warn_snntorch_reset(node: Any, gain: np.ndarray, where: str) -> None:
    """Warn that a neuron with snnTorch's export signature (``gain`` 1, no leak, ``v_reset`` 0) is read
    as resetting to zero, which snnTorch writes for its subtract reset too."""
    v_leak = np.asarray(getattr(node, "v_leak", 0.0), np.float64)
    if np.allclose(gain, 1.0, rtol=1e-5, atol=0.0) and not np.any(v_leak):
        warnings.warn(
            f"{where}: read {type(node).__name__} v_reset=0 as a reset to zero; snnTorch writes v_reset=0 for its "
            "subtract reset too (NIR cannot carry it): for snnTorch Leaky/Synaptic(reset_mechanism='subtract') "
            "convert the live module, which is exact",
            ResetAssumedWarning,
            stacklevel=2,
        )


NeuronParameters = tuple[dict[str, Any], np.ndarray, np.ndarray, bool]
"""(LIF fields except bias, per-neuron input gain, bias from v_leak, whether the neuron has a current state)."""


def _broadcast(values: Any, size: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(values, np.float64).reshape(-1), (size,))


def _threshold_parameters(node: Any, size: int, dt: float, where: str) -> NeuronParameters:
    fields = {"threshold": _threshold(node.threshold, where), "current_decay": 1.0, "voltage_decay": 1.0}
    return fields, np.ones(size), np.zeros(size), False


def _warn_sinabs_reset(node: Any, where: str) -> None:
    """Warn that an ``IF`` with Sinabs' export signature (``r`` 1, ``v_reset`` 0) is read as NIR defines it."""
    if np.all(np.asarray(node.r) == 1.0):
        warnings.warn(
            f"{where}: read IF as NIR defines it (fires on v > v_threshold, resets to 0); Sinabs writes this IF for "
            "every IAF whatever its spike_fn/reset_fn (its default MultiSpike + MembraneSubtract cannot be written "
            "in NIR, and Sinabs' SingleSpike fires on v >= threshold): for a Sinabs network convert the live "
            "module, which is exact",
            ResetAssumedWarning,
            stacklevel=2,
        )


def _if_parameters(node: Any, size: int, dt: float, where: str) -> NeuronParameters:
    _check_reset(node, where)
    _warn_sinabs_reset(node, where)
    fields = {"threshold": _threshold(node.v_threshold, where), "current_decay": 1.0, "voltage_decay": 0.0}
    return fields, dt * _broadcast(node.r, size), np.zeros(size), False


def _decay(dt: float, tau: float, what: str, where: str) -> float:
    """Return ``dt / tau``.

    Raises:
        UnsupportedLayerError: if it exceeds 1 (the step is longer than the time constant), saying that Norse's
            export writes such files.
    """
    decay = dt / tau
    if not 0.0 <= decay <= 1.0:
        raise UnsupportedLayerError(
            f"{where}: dt/{what} = {decay:.6g} lies outside [0, 1] (dt {dt:g} s, {what} {tau:g} s); Norse 1.1's "
            "to_nir writes tau as dt*tau (its dt / tau_inv) and feeds its current without NIR's dt/tau_syn gain, "
            "so its LIF/CubaLIF files do not state Norse's neuron: convert the live Norse module instead"
        )
    return decay


def _lif_parameters(node: Any, size: int, dt: float, where: str) -> NeuronParameters:
    _check_reset(node, where)
    decay = _decay(dt, _uniform(node.tau, "tau", where), "tau", where)
    fields = {"threshold": _threshold(node.v_threshold, where), "current_decay": 1.0, "voltage_decay": decay}
    gain = decay * _broadcast(node.r, size)
    _warn_snntorch_reset(node, gain, where)
    return fields, gain, decay * _broadcast(node.v_leak, size), False


def _cuba_parameters(node: Any, size: int, dt: float, where: str) -> NeuronParameters:
    _check_reset(node, where)
    current_decay = _decay(dt, _uniform(node.tau_syn, "tau_syn", where), "tau_syn", where)
    voltage_decay = _decay(dt, _uniform(node.tau_mem, "tau_mem", where), "tau_mem", where)
    fields = {
        "threshold": _threshold(node.v_threshold, where),
        "current_decay": current_decay,
        "voltage_decay": voltage_decay,
    }
    gain = current_decay * _broadcast(node.w_in, size) * voltage_decay * _broadcast(node.r, size)
    _warn_snntorch_reset(node, gain, where)
    return fields, gain, voltage_decay * _broadcast(node.v_leak, size), current_decay != 1.0


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


SynapseDescription = tuple[dict[str, Any], tuple[int, ...]]
"""(pending synapse description, output shape)."""


def _dense_synapse(node: Any, name: str, shape: tuple[int, ...], where: str) -> SynapseDescription:
    size = int(np.prod(shape))
    weight = np.asarray(node.weight, np.float64)
    if weight.ndim != 2 or weight.shape[1] != size:
        raise UnsupportedLayerError(f"{where}: weight of shape {weight.shape} does not take {size} inputs")
    bias = np.asarray(node.bias, np.float64).reshape(-1) if isinstance(node, nir.Affine) else None
    return {"name": name, "type": Dense, "weight": weight, "bias": bias, "fields": {}}, (weight.shape[0],)


def _spatial_input(node: Any, shape: tuple[int, ...], where: str) -> dict[str, int]:
    if len(shape) != 3:
        raise UnsupportedLayerError(f"{where}: {type(node).__name__} needs a (C, H, W) input, got shape {list(shape)}")
    channels, height, width = shape
    return {"in_channels": channels, "in_height": height, "in_width": width}


def _conv_synapse(node: Any, name: str, shape: tuple[int, ...], where: str) -> SynapseDescription:
    geometry = _spatial_input(node, shape, where)
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
        conv_output_size(shape[1], kernel[0], stride[0], padding[0]),
        conv_output_size(shape[2], kernel[1], stride[1], padding[1]),
    )
    bias = np.repeat(np.asarray(node.bias, np.float64).reshape(-1), out[1] * out[2])
    return {"name": name, "type": Conv2d, "weight": weight, "bias": bias, "fields": fields}, out


def _pool_synapse(node: Any, name: str, shape: tuple[int, ...], where: str) -> SynapseDescription:
    geometry = _spatial_input(node, shape, where)
    kernel = _pair(node.kernel_size, where, "kernel_size")
    stride = _pair(node.stride, where, "stride")
    padding = _pair(node.padding, where, "padding")
    mode = "sum" if isinstance(node, nir.SumPool2d) else "avg"
    fields = {**geometry, "kernel_h": kernel[0], "kernel_w": kernel[1], "mode": mode, "stride_h": stride[0],
              "stride_w": stride[1], "padding_h": padding[0], "padding_w": padding[1]}  # fmt: skip
    out = (
        shape[0],
        conv_output_size(shape[1], kernel[0], stride[0], padding[0]),
        conv_output_size(shape[2], kernel[1], stride[1], padding[1]),
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


def _upstream(reading: Reading) -> str:
    """Return the name of the last node read, passing over a recurrent node (which feeds its own layer only)."""
    return next(node.name for node in reversed(reading.nodes) if node.kind != RECURRENT_KIND)


def _read_input(node: Any, name: str, reading: Reading, where: str) -> None:
    reading.shape = tuple(int(s) for s in np.asarray(node.input_type["input"]).reshape(-1))
    encoding = reading.metadata.get("encoding", "nir")
    encoding = encoding.decode() if isinstance(encoding, bytes) else str(encoding)
    reading.nodes.append(SpikeInput("input", (), neurons=int(np.prod(reading.shape)), encoding=encoding))


def _read_output(node: Any, name: str, reading: Reading, where: str) -> None:
    if reading.pending:
        raise UnsupportedLayerError(f"{where}: the graph ends in a synapse; latdeploy graphs end in neurons")


def _read_flatten(node: Any, name: str, reading: Reading, where: str) -> None:
    reading.shape = (int(np.prod(reading.shape)),)


def _read_delay(node: Any, name: str, reading: Reading, where: str) -> None:
    if reading.pending:
        raise UnsupportedLayerError(f"{where}: a Delay between synapses delays currents; only spikes")
    step = reading.step
    steps = _uniform(node.delay, "delay", where) / step
    if abs(steps - round(steps)) > 1e-6 or round(steps) < 1:
        raise UnsupportedLayerError(f"{where}: delay {steps * step} s is not a whole number >= 1 of dt {step}")
    neurons = int(np.prod(reading.shape))
    reading.nodes.append(AxonalDelay(name, (_upstream(reading),), neurons=neurons, steps=int(round(steps))))


def _neuron_reader(parameters: Callable[[Any, int, float, str], NeuronParameters]) -> NirReader:
    """Return the reader of a NIR neuron class whose LIF parameters ``parameters`` gives."""

    def read(node: Any, name: str, reading: Reading, where: str) -> None:
        if not reading.pending:
            raise UnsupportedLayerError(f"{where}: a neuron must follow a synapse (Affine, Linear, Conv2d, pooling)")
        size = int(np.prod(reading.shape))
        fields, gain, leak_bias, has_current = parameters(node, size, reading.step, where)
        synapses, synapse_bias = _emit_synapses(reading.pending, gain, reading.shape, _upstream(reading), where)
        if has_current and np.any(synapse_bias != 0):
            raise UnsupportedLayerError(
                f"{where}: a synapse bias into a CubaLIF with current decay feeds the current, "
                "which latdeploy's neuron bias (added to v) cannot express"
            )
        loop = _recurrent(name, reading.loops.get(name), gain, size, has_current, where)
        bias = (leak_bias + synapse_bias + (0.0 if loop is None else loop[1])).astype(np.float32)
        reading.nodes.extend(synapses)
        reading.nodes.append(LIF(name, (synapses[-1].name,), bias=bias, **_exact(node, fields)))
        if loop is not None:
            reading.nodes.append(loop[0])
        reading.pending = []

    return read


def _recurrent(
    neuron: str, loop: tuple[str, Any] | None, gain: np.ndarray, size: int, has_current: bool, where: str
) -> tuple[RecurrentDense, np.ndarray] | None:
    """Return the recurrent node of neuron ``neuron``'s loop (its weight times the neuron's input ``gain``, as the
    feed-forward weights) and the bias its Affine adds (gained), or ``None`` without a loop.

    Raises:
        UnsupportedLayerError: if the weight does not map the layer onto itself, or an Affine bias
            would feed a CubaLIF's current.
    """
    if loop is None:
        return None
    name, node = loop
    weight = np.asarray(node.weight, np.float64)
    if weight.shape != (size, size):
        raise UnsupportedLayerError(
            f"{where}: recurrent weight {name!r} has shape {weight.shape}; it must map the {size} neurons "
            "onto themselves"
        )
    bias = np.asarray(node.bias, np.float64).reshape(-1) if isinstance(node, nir.Affine) else np.zeros(size)
    if has_current and np.any(bias != 0):
        raise UnsupportedLayerError(
            f"{where}: the recurrent Affine {name!r} has a bias, which feeds a CubaLIF's decaying current; "
            "latdeploy's neuron bias (added to v) cannot express it"
        )
    recurrent = RecurrentDense(name, (neuron,), weight=gain.reshape(-1, 1) * weight)
    return recurrent, gain * bias


def _synapse_reader(describe: Callable[[Any, str, tuple[int, ...], str], SynapseDescription]) -> NirReader:
    """Return the reader of a NIR synapse class that ``describe`` turns into a pending synapse."""

    def read(node: Any, name: str, reading: Reading, where: str) -> None:
        description, reading.shape = describe(node, name, reading.shape, where)
        reading.pending.append(description)

    return read


NIR_READERS.add(nir.Input, _read_input)
NIR_READERS.add(nir.Output, _read_output)
NIR_READERS.add(nir.Flatten, _read_flatten)
NIR_READERS.add(nir.Delay, _read_delay)
NIR_READERS.add(nir.Affine, _synapse_reader(_dense_synapse))
NIR_READERS.add(nir.Linear, _synapse_reader(_dense_synapse))
NIR_READERS.add(nir.Conv2d, _synapse_reader(_conv_synapse))
NIR_READERS.add(nir.SumPool2d, _synapse_reader(_pool_synapse))
NIR_READERS.add(nir.AvgPool2d, _synapse_reader(_pool_synapse))
NIR_READERS.add(nir.IF, _neuron_reader(_if_parameters))
NIR_READERS.add(nir.LIF, _neuron_reader(_lif_parameters))
NIR_READERS.add(nir.CubaLIF, _neuron_reader(_cuba_parameters))
NIR_READERS.add(nir.Threshold, _neuron_reader(_threshold_parameters))


def _step(metadata: dict[str, Any], dt: float | None, where: str) -> float:
    """Return the time step: the graph's ``metadata["dt"]``, else ``dt``.

    Raises:
        ModelFormatError: if neither gives a finite positive step (NIR's equations are continuous-time:
            without a step every decay and input gain would be a guess).
    """
    step = metadata.get("dt", dt)
    if step is None:
        raise ModelFormatError(
            f"{where}: the NIR graph states no time step (metadata 'dt'; Sinabs, snnTorch and Norse write none); "
            "give it with --dt SECONDS (dt=1 for Sinabs, 1e-4 for snnTorch, Norse's own dt, e.g. 1e-3)"
        )
    try:
        step = float(np.asarray(step, np.float64).reshape(()))
    except (TypeError, ValueError) as error:
        shape = np.shape(step) if isinstance(step, (np.ndarray, list, tuple)) else None
        got = f"an array of shape {shape}" if shape else f"{type(step).__name__} {str(step)[:40]!r}"
        raise ModelFormatError(f"{where}: metadata 'dt' must be one number, got {got}") from error
    if not (np.isfinite(step) and step > 0):
        raise ModelFormatError(f"{where}: time step dt must be finite and positive, got {step}")
    return step


def graph_from_nir(graph: Any, dt: float | None = None, where: str = "NIR graph") -> Graph:
    """Return the float latdeploy graph of the NIR graph ``graph`` (see the module docstring).

    Raises:
        UnsupportedLayerError: for nodes, topologies or parameters latdeploy cannot express.
    """
    metadata = dict(getattr(graph, "metadata", None) or {})
    step = _step(metadata, dt, where)
    loops = _loops(graph)
    reading = Reading(step, metadata, loops={neuron: (rec, graph.nodes[rec]) for neuron, rec in loops.items()})
    for name in _chain(graph, where, loops):
        node = graph.nodes[name]
        here = f"{where}: node {name!r}"
        reader = NIR_READERS.find(type(node))
        if reader is None:
            raise UnsupportedLayerError(
                f"{here}: NIR {type(node).__name__} is not supported; supported: {', '.join(NIR_READERS.names())}"
            )
        reader(node, name, reading, here)
    nodes = reading.nodes
    timesteps = int(metadata.get("timesteps", DEFAULT_TIMESTEPS))
    stored = metadata.get(GRAPH_METADATA_KEY)
    if stored is not None:
        kept = load_json(stored, f"{where}: metadata field {GRAPH_METADATA_KEY!r}")
        if not isinstance(kept, dict):
            raise ModelFormatError(f"{where}: metadata field {GRAPH_METADATA_KEY!r} is not a JSON object")
    else:
        kept = {k: v for k, v in metadata.items() if isinstance(v, (str, int, float, bool))}
        kept.update(dt=step, source="nir")
    return Graph(tuple(nodes), {**kept, "timesteps": timesteps})
