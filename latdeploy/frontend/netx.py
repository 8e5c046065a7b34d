"""IR from lava-dl netx ``.net`` files (HDF5), with netx's exact fixed-point parameters.

The reader follows ``lava.lib.dl.netx.hdf5.Network`` (lava-dl 0.6.0) field by field,
so the imported integer graph computes what netx builds in Lava:

* ``input`` without a neuron: the graph's :class:`~latdeploy.ir.SpikeInput` (netx
  connects the network input straight to the first synapse). ``input`` with a
  neuron: netx leaves that neuron's input port unconnected (the input arrives as
  its bias or by a direct connection to ``a_in``); it becomes a ``SpikeInput``
  whose values drive a :class:`~latdeploy.ir.LIFInt` directly (no synapse, no lag).
* ``dense``: weights read as integers (``astype(int)``, as netx's ``NetDict``),
  then netx's ``optimize_weight_bits`` (re-implemented bit for bit in
  :func:`optimize_weight_bits`) gives the stored weights, ``num_weight_bits`` and
  ``weight_exp`` of a :class:`~latdeploy.ir.DenseInt`; a ``delay`` entry makes a
  :class:`~latdeploy.ir.netx_nodes.DelayDenseInt` (per output neuron, per input,
  or per synapse, clamped to 62 steps as netx does).
* neurons ``CUBA``/``LOIHI``: ``vth = vThMant``, ``du = iDecay - 1``,
  ``dv = vDecay``, ``bias_mant = bias`` (``astype(int)``), ``bias_exp = 6``. A dense
  layer without a neuron gets netx's default, a non-leaky integrator that never fires:
  ``iDecay`` 0, ``vDecay`` 4096, ``vThMant`` 2^17, i.e. Lava's ``du = -1`` (``u`` never
  decays), ``dv = 4096`` (``v = u + bias``) and ``vth << 6 = 2^23`` above every 24-bit
  ``v`` (:data:`~latdeploy.ir.nodes.DU_RANGE` and its siblings admit exactly these). ``refDelay``
  is ignored, as by netx (Lava's LIF has no refractory period). Graded spikes
  (``gradedSpike``/``messageBits``) only widen netx's ports: Lava's LIF still sends
  0/1, so the IR spikes are the same; the setting is kept in the metadata.
* ``conv``: a :class:`~latdeploy.ir.conv.Conv2dInt` (stride, padding, groups; the
  file's ``[C, H, W]`` shapes; channel-wise bias), no dilation.
* ``flatten`` is the identity (netx flattens ``(X, Y, C)`` transposed to ``(C, Y, X)``,
  the IR's C order); ``average`` (a host-side read-out that netx does not build) is
  kept as ``metadata["readout"]``.

Timing: latdeploy starts every layer of every sample from zero state. netx does the
same when built with ``reset_interval=T`` and ``reset_offset`` 0 (input layer with a
neuron) or 1 (without); without a reset interval netx's layers also integrate their
bias during the steps before the first input reaches them.

Anything else (``pool``, which netx does not build either, ``SDNN``/``RF`` neurons)
raises :class:`~latdeploy.errors.UnsupportedLayerError` naming the layer.

One reader per layer type in :data:`NETX_LAYER_READERS`. The file is checked by
:func:`latdeploy.frontend.hdf5_file.check_hdf5_file` (declared dataset sizes, no links
to other files) before any dataset is read; h5py is imported only then.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latdeploy.errors import (
    ModelFormatError,
    QuantizationRangeError,
    UnsupportedLayerError,
    naming_file,
    one_line,
)
from latdeploy.frontend.hdf5_file import check_hdf5_file, require_h5py
from latdeploy.ir import Conv2dInt, DenseInt, Graph, LIFInt, Node, SpikeInput
from latdeploy.ir.netx_nodes import MAX_DELAY, DelayDenseInt
from latdeploy.registry import Registry

NETX_BIAS_EXP = 6
NETX_NEURON_TYPES = ("CUBA", "LOIHI")
DEFAULT_NEURON = {"type": "CUBA", "iDecay": 0, "vDecay": 4096, "vThMant": 1 << 17, "refDelay": 1}


def optimize_weight_bits(weight: np.ndarray, where: str = "weight") -> tuple[np.ndarray, int, int]:
    """Return netx's ``(weight, num_weight_bits, weight_exp)`` for integer ``weight``.

    Bit for bit ``lava.lib.dl.netx.utils.optimize_weight_bits`` (including its
    clipping of out-of-range mixed-sign weights to [-256, 254]).

    Raises:
        QuantizationRangeError: for weights netx cannot place on Loihi's synapse
            (all zero, excitatory above 255, inhibitory below -256), or that need
            9 weight bits (odd mixed-sign weights), which the IR does not hold.
    """
    weight = np.asarray(weight).astype(np.int64)
    max_weight, min_weight = weight.max(), weight.min()
    if max_weight > 254 and min_weight < 0:
        weight = np.clip(weight, -256, 254)
        max_weight = weight.max()
    if min_weight < -256 and max_weight > 0:
        weight = np.clip(weight, -256, 254)
        min_weight = weight.min()
    if max_weight < 0:
        is_signed, scale = 0, -256 / min_weight
    elif min_weight >= 0:
        if max_weight == 0:
            raise QuantizationRangeError(f"{where}: all weights are zero; netx cannot scale them")
        is_signed, scale = 0, 255 / max_weight
    else:  # netx counts [-x, 0] as mixed too (127 / 0 = inf)
        with np.errstate(divide="ignore"):
            is_signed, scale = 1, min(127 / max_weight, -128 / min_weight)
    scale_bits = math.floor(math.log2(scale)) + is_signed
    if scale_bits < 0:
        raise QuantizationRangeError(
            f"{where}: weights span [{min_weight}, {max_weight}], outside Loihi's 8-bit synapse "
            "(excitatory <= 255, inhibitory >= -256)"
        )
    precision = 8
    while precision > 0 and np.abs(weight / 2**precision - np.round(weight / 2**precision)).sum() != 0:
        precision -= 1
    precision -= is_signed
    num_weight_bits = 8 - scale_bits - precision
    if not 1 <= num_weight_bits <= 8:
        raise QuantizationRangeError(
            f"{where}: netx gives num_weight_bits {num_weight_bits} (odd mixed-sign weights need 9), "
            "outside the 1..8 the IR holds"
        )
    return np.left_shift(weight.astype(np.int32), scale_bits), int(num_weight_bits), int(-scale_bits)


def _text(value: Any) -> str:
    value = np.asarray(value)
    item = value.reshape(-1)[0] if value.shape else value[()]
    return item.decode("ascii") if isinstance(item, bytes) else str(item)


def _group_dict(group) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in group.items():
        out[key] = _group_dict(item) if hasattr(item, "keys") else item[()]
    return out


def _neuron(config: dict[str, Any], name: str, inputs: tuple[str, ...], size: int, bias: Any, where: str) -> LIFInt:
    kind = _text(config["type"])
    if kind not in NETX_NEURON_TYPES:
        raise UnsupportedLayerError(f"{where}: neuron type {kind!r} is not supported; supported: {NETX_NEURON_TYPES}")
    bias_mant = np.zeros(size, np.int64) if bias is None else np.asarray(bias).astype(int)
    bias_mant = np.broadcast_to(bias_mant.reshape(-1) if bias_mant.size == 1 else bias_mant, (size,))
    return LIFInt(
        name,
        inputs,
        du=int(config["iDecay"]) - 1,
        dv=int(config["vDecay"]),
        vth=int(config["vThMant"]),
        bias_mant=np.ascontiguousarray(bias_mant).astype(np.int32),
        bias_exp=NETX_BIAS_EXP,
    )


def _delays(delay: np.ndarray, weight: np.ndarray, where: str) -> np.ndarray:
    delay = np.asarray(delay, dtype=np.float64)
    if delay.size and delay.min() < 0:
        raise QuantizationRangeError(f"{where}: negative delay {delay.min()}; delays must be >= 0")
    if delay.max() > MAX_DELAY:
        delay = np.clip(delay, 0, MAX_DELAY)
    if delay.ndim == 0:
        return np.full(weight.shape, int(delay), np.int32)
    if delay.ndim == 1:
        if delay.size == weight.shape[0]:
            return np.repeat(delay.reshape(-1, 1), weight.shape[1], axis=1).astype(int).astype(np.int32)
        if delay.size == weight.shape[1]:
            return np.repeat(delay.reshape(1, -1), weight.shape[0], axis=0).astype(int).astype(np.int32)
        raise ModelFormatError(f"{where}: delay of shape {delay.shape} does not fit weight of shape {weight.shape}")
    if delay.shape != weight.shape:
        raise ModelFormatError(f"{where}: delay of shape {delay.shape} does not fit weight of shape {weight.shape}")
    return delay.astype(int).astype(np.int32)


def read_netx(path: str | os.PathLike[str], timesteps: int | None = None) -> Graph:
    """Import the lava-dl netx network in ``path`` as an integer graph.

    ``timesteps`` defaults to the file's ``simulation/tSample``.

    Returns:
        The graph; its metadata holds ``timesteps``, ``source: "netx"``, the layer
        table (``netx_layers``) and any ``readout``.

    Raises:
        ModelFormatError: if the file is missing, not HDF5, malformed, beyond the limits of
            :func:`~latdeploy.frontend.hdf5_file.check_hdf5_file` or links to other files.
        UnsupportedLayerError: for layer or neuron types outside the list above.
        QuantizationRangeError: for values the IR's integer types cannot hold.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(f"{path}: no such .net file")
    h5py = require_h5py("reading .net files")
    check_hdf5_file(path, "netx .net file")
    try:
        with h5py.File(path, "r") as handle:
            layers = handle["layer"]
            configs = [_group_dict(layers[key]) for key in sorted(layers.keys(), key=int)]
            simulation = _group_dict(handle["simulation"]) if "simulation" in handle else {}
    except Exception as error:  # h5py raises many types (OSError, RuntimeError, TypeError, ...) for foreign files
        raise ModelFormatError(f"{path}: not a readable netx .net file ({one_line(error)})") from error
    with naming_file(path, "netx .net file"):
        return _graph(configs, simulation, path, timesteps)


@dataclass
class NetxReading:
    """What reading a netx layer list has built so far.

    ``nodes``: the IR nodes; ``previous``: the node the next layer reads (``None``
    before the input layer); ``chw``: the ``(C, H, W)`` (or flat) shape of its values,
    in the file's order; ``metadata``: the graph metadata (``readout`` once an
    ``average`` layer is read).
    """

    metadata: dict[str, Any]
    nodes: list[Node] = field(default_factory=list)
    previous: Node | None = None
    chw: tuple[int, ...] = ()

    def after(self, what: str, where: str) -> Node:
        """Return the node a ``what`` layer reads.

        Raises:
            ModelFormatError: if no input layer came before it.
        """
        if self.previous is None:
            raise ModelFormatError(f"{where}: {what} before the input layer")
        return self.previous


NetxLayerReader = Callable[[dict[str, Any], int, list[int], NetxReading, str], None]
"""``reader(config, index, shape, reading, where)``: add layer ``index`` of the file to ``reading``."""

NETX_LAYER_READERS: Registry[str, NetxLayerReader] = Registry("netx layer reader")
"""The reader of each netx layer type (the file's ``type`` string)."""
NOT_BUILT_BY_NETX = "netx itself builds no pool, convT, unpool or concat"


@NETX_LAYER_READERS.register("input")
def _read_input(config: dict[str, Any], index: int, shape: list[int], reading: NetxReading, where: str) -> None:
    if reading.nodes:
        raise ModelFormatError(f"{where}: a second input layer")
    size = int(np.prod(shape)) if shape else 0
    reading.chw = tuple(shape)
    reading.nodes.append(SpikeInput("input", (), neurons=size, encoding="netx"))
    if "neuron" in config:
        reading.nodes.append(_neuron(config["neuron"], f"layer{index}", ("input",), size, None, where))
    reading.previous = reading.nodes[-1]


@NETX_LAYER_READERS.register("flatten")
def _read_flatten(config: dict[str, Any], index: int, shape: list[int], reading: NetxReading, where: str) -> None:
    previous = reading.after("flatten", where)
    if shape and int(np.prod(shape)) != previous.size:
        raise ModelFormatError(f"{where}: flatten to {shape} but the previous layer has {previous.size}")
    reading.chw = (previous.size,)  # netx flattens (X, Y, C) transposed to (C, Y, X): the IR's C order


def _implicit_input(config: dict[str, Any], reading: NetxReading, where: str) -> None:
    """Start a file without an ``input`` block as netx does: the network input feeds the first layer's synapse
    directly (a :class:`~latdeploy.ir.SpikeInput` without neuron, sized by a dense layer's weight).

    Raises:
        ModelFormatError: for a first conv layer (its input height and width are in no field; netx too
            needs ``hdf5.Network(input_shape=...)`` then) or a weight without a column count.
    """
    if reading.previous is not None or reading.nodes:
        return
    if _text(config["type"]) != "dense":
        raise ModelFormatError(
            f"{where}: the file has no input layer, and a first {_text(config['type'])} layer does not say its input "
            "shape (netx needs hdf5.Network(input_shape=...) too); add an input block with its shape"
        )
    raw = np.asarray(config["weight"])
    size = int(np.prod(config["shape"]))
    columns = raw.shape[1] if raw.ndim == 2 else (raw.size // size if raw.ndim == 1 and size else 0)
    if columns < 1:
        raise ModelFormatError(f"{where}: the file has no input layer and the weight does not give the input size")
    reading.chw = (int(columns),)
    reading.nodes.append(SpikeInput("input", (), neurons=int(columns), encoding="netx"))
    reading.previous = reading.nodes[-1]


@NETX_LAYER_READERS.register("conv")
def _read_conv(config: dict[str, Any], index: int, shape: list[int], reading: NetxReading, where: str) -> None:
    _implicit_input(config, reading, where)
    synapse, neuron = _conv(config, index, reading.after("conv", where), reading.chw, where)
    reading.nodes.extend([synapse, neuron])
    reading.previous, reading.chw = neuron, synapse.out_shape


@NETX_LAYER_READERS.register("dense")
def _read_dense(config: dict[str, Any], index: int, shape: list[int], reading: NetxReading, where: str) -> None:
    _implicit_input(config, reading, where)
    synapse, neuron = _dense(config, index, reading.after("dense", where), where)
    reading.nodes.extend([synapse, neuron])
    reading.previous, reading.chw = neuron, (neuron.size,)


@NETX_LAYER_READERS.register("average")
def _read_average(config: dict[str, Any], index: int, shape: list[int], reading: NetxReading, where: str) -> None:
    reading.metadata["readout"] = {"kind": "average", "layer": index, "groups": int(np.prod(shape))}


def _graph(configs: list[dict[str, Any]], simulation: dict[str, Any], path: Path, timesteps: int | None) -> Graph:
    reading = NetxReading({"source": "netx", "netx_file": path.name})
    table: list[dict[str, Any]] = []
    for index, config in enumerate(configs):
        where = f"{path.name}: layer {index}"
        if "type" not in config:
            raise ModelFormatError(f"{where}: no 'type'")
        kind = _text(config["type"])
        shape = [int(s) for s in np.asarray(config.get("shape", [])).reshape(-1)]
        if "readout" in reading.metadata:
            raise UnsupportedLayerError(f"{where}: layers after the average read-out are not supported")
        reader = NETX_LAYER_READERS.find(kind)
        if reader is None:
            raise UnsupportedLayerError(
                f"{where}: netx layer type {kind!r} is not supported; supported: "
                f"{', '.join(NETX_LAYER_READERS.keys())} ({NOT_BUILT_BY_NETX})"
            )
        reader(config, index, shape, reading, where)
        message_bits = _message_bits(config)
        table.append({"index": index, "type": kind, "shape": shape, **message_bits})
    if not reading.nodes:
        raise ModelFormatError(f"{path.name}: no input layer")
    steps = timesteps if timesteps is not None else int(simulation.get("tSample", 0) or 0)
    if steps < 1:
        raise ModelFormatError(f"{path.name}: no simulation/tSample; give the number of time steps")
    metadata = {**reading.metadata, "timesteps": steps, "netx_layers": table}
    return Graph(tuple(reading.nodes), metadata)


def _message_bits(config: dict[str, Any]) -> dict[str, Any]:
    neuron = config.get("neuron")
    if not isinstance(neuron, dict):
        return {}
    out: dict[str, Any] = {"neuron": _text(neuron["type"])} if "type" in neuron else {}
    if "gradedSpike" in neuron:
        out["graded_spike"] = bool(neuron["gradedSpike"])
    if "messageBits" in neuron:
        out["message_bits"] = int(neuron["messageBits"])
    return out


def _dense(config: dict[str, Any], index: int, previous: Node, where: str) -> tuple[Node, LIFInt]:
    size = int(np.prod(config["shape"]))
    raw = np.asarray(config["weight"]).astype(int)
    if raw.ndim == 1:
        raw = raw.reshape(size, -1)
    if raw.shape != (size, previous.size):
        raise ModelFormatError(
            f"{where}: weight of shape {raw.shape} does not map {previous.size} inputs to {size} neurons"
        )
    weight, num_weight_bits, weight_exp = optimize_weight_bits(raw, where)
    name, inputs = f"layer{index}_synapse", (previous.name,)
    if "delay" in config:
        delay = _delays(config["delay"], weight, where)
        synapse: Node = DelayDenseInt(
            name, inputs, weight=weight, delay=delay, weight_exp=weight_exp, num_weight_bits=num_weight_bits
        )
    else:
        synapse = DenseInt(name, inputs, weight=weight, weight_exp=weight_exp, num_weight_bits=num_weight_bits)
    neuron_config = config.get("neuron", DEFAULT_NEURON)
    neuron = _neuron(neuron_config, f"layer{index}", (name,), size, config.get("bias"), where)
    return synapse, neuron


def _pair(value: Any, where: str, what: str) -> tuple[int, int]:
    array = np.asarray(value).reshape(-1)
    if array.size == 1:
        return int(array[0]), int(array[0])
    if array.size != 2:
        raise ModelFormatError(f"{where}: {what} {array.tolist()} must hold one or two values")
    return int(array[0]), int(array[1])


def _conv(config: dict[str, Any], index: int, previous: Node, chw: tuple[int, ...], where: str) -> tuple[Node, LIFInt]:
    """A netx conv block as a :class:`~latdeploy.ir.conv.Conv2dInt` building the very same Lava ``Conv``.

    netx gives Lava ``weight[:, :, ::-1, ::-1].transpose(0, 3, 2, 1)`` of the file's
    ``[C_out, C_in, kH, kW(, 1)]`` kernel; ``Conv2dInt``'s Lava builder applies exactly
    that to its weight, so the file's kernel is the node's weight unchanged.
    """
    if len(chw) != 3:
        raise ModelFormatError(f"{where}: conv needs a (C, H, W) input, the previous layer has shape {list(chw)}")
    raw = np.asarray(config["weight"]).astype(int)
    raw = raw.reshape(raw.shape[:4])
    if _pair(config.get("dilation", 1), where, "dilation") != (1, 1):
        raise UnsupportedLayerError(f"{where}: dilation {np.asarray(config['dilation']).tolist()} is not supported")
    stride_h, stride_w = _pair(config.get("stride", 1), where, "stride")
    padding_h, padding_w = _pair(config.get("padding", 0), where, "padding")
    name = f"layer{index}_synapse"
    synapse = Conv2dInt(
        name,
        (previous.name,),
        weight=np.ascontiguousarray(raw),
        groups=int(np.asarray(config.get("groups", 1))),
        in_channels=chw[0], in_height=chw[1], in_width=chw[2],
        stride_h=stride_h, stride_w=stride_w, padding_h=padding_h, padding_w=padding_w,
    )  # fmt: skip
    shape = tuple(int(s) for s in np.asarray(config["shape"]).reshape(-1))
    if shape != synapse.out_shape:
        raise ModelFormatError(f"{where}: shape {list(shape)} differs from the convolution's {list(synapse.out_shape)}")
    bias = config.get("bias")
    if bias is not None:
        bias = np.asarray(bias).astype(int).reshape(-1)
        if bias.size == synapse.out_channels:
            bias = np.repeat(bias, synapse.out_height * synapse.out_width)  # channel-wise, C order
    neuron = _neuron(config["neuron"], f"layer{index}", (name,), synapse.size, bias, where)
    return synapse, neuron
