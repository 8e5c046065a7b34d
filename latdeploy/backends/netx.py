"""Integer IR -> lava-dl netx ``.net`` (HDF5) that ``netx.hdf5.Network`` loads and runs.

netx ignores any exponent in the file: it reads integer weights, derives
``num_weight_bits`` and ``weight_exp`` itself (``optimize_weight_bits``), and fixes
``bias_exp = 6``. So a layer is written as the **effective** integers Lava applies:
``W_file = lava_weights(W) * 2**weight_exp`` and ``bias = bias_mant * 2**(bias_exp - 6)``;
layers where these are not integers in Loihi's ranges are refused. Every layer is
checked after writing: netx's own weight optimisation of ``W_file`` must give back
exactly the effective weights, so the file runs spike for spike like the IR.

Written layout (as lava-dl's ``export_hdf5`` writes it): ``layer/0`` an input
(``shape``), then one ``dense`` per synapse + neuron pair with ``weight`` (float32
``[out, in]``), ``bias``, optional ``delay`` (per output neuron when uniform along
a row, else ``[out, in]``), and ``neuron`` (``CUBA``: ``iDecay = du + 1``,
``vDecay = dv``, ``vThMant = vth``); ``simulation/tSample`` is the graph's
time steps. Run it with ``netx.hdf5.Network(path, reset_interval=T,
reset_offset=1)`` to get latdeploy's per-sample resets.

The per-type parts are registries: :data:`NETX_SYNAPSES` (effective weights and the
layer group of each synapse class) and :data:`NETX_NEURONS` (bias and neuron group of
each neuron class). h5py (the 'lava' extra) is imported when a file is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from latdeploy.errors import QuantizationRangeError, UnsupportedLayerError
from latdeploy.frontend.hdf5_file import require_h5py
from latdeploy.frontend.netx import NETX_BIAS_EXP, optimize_weight_bits
from latdeploy.ir import Conv2dInt, DelayDenseInt, DenseInt, Graph, LIFInt, Node
from latdeploy.ir.nodes import BIAS_MANT_TYPE
from latdeploy.registry import Registry
from latdeploy.report.bundle import atomic_file
from latdeploy.sim.fixed import lava_weights

CHAIN = "the netx writer takes a chain of DenseInt/DelayDenseInt/Conv2dInt -> LIFInt layers after the SpikeInput"


@dataclass(frozen=True)
class NetxSynapse:
    """How an integer synapse class is written to netx.

    ``weight(node)``: the integer weights netx must read; ``bias(node, bias)``: the next
    neuron's bias as the layer holds it; ``write(group, node, weight, bias)``: fill the
    layer's HDF5 group (without its neuron); a ``spatial`` layer gives ``(C, H, W)``
    values (netx needs a flatten layer between it and a dense layer).
    """

    weight: Callable[[Any], np.ndarray]
    bias: Callable[[Any, np.ndarray], np.ndarray]
    write: Callable[[Any, Any, np.ndarray, np.ndarray], None]
    spatial: bool


@dataclass(frozen=True)
class NetxNeuron:
    """How an integer neuron class is written: ``bias(node)`` at netx's fixed ``bias_exp``, ``write(group, node)``."""

    bias: Callable[[Any], np.ndarray]
    write: Callable[[Any, Any], None]


NETX_SYNAPSES: Registry[type[Node], NetxSynapse] = Registry("netx synapse writer", hint=CHAIN)
NETX_NEURONS: Registry[type[Node], NetxNeuron] = Registry("netx neuron writer", hint=CHAIN)


def effective_weight(node: Node) -> np.ndarray:
    """Return the integer weights netx must read for the synapse ``node``.

    Raises:
        UnsupportedLayerError: for a node class without a :data:`NETX_SYNAPSES` entry.
        QuantizationRangeError: if they are not integers netx can place on an 8-bit synapse.
    """
    return NETX_SYNAPSES.get(type(node), subject=f"node {node.name!r}").weight(node)


def _dense_weight(node: DenseInt | DelayDenseInt) -> np.ndarray:
    """Lava's stored weights times ``2**weight_exp``, checked against netx's own weight optimisation."""
    stored = lava_weights(node.weight, node.num_weight_bits).astype(np.int64)
    if node.weight_exp >= 0:
        weight = stored << node.weight_exp
    else:
        if (stored % (1 << -node.weight_exp)).any():
            raise QuantizationRangeError(
                f"node {node.name!r}: weight_exp {node.weight_exp} floors sums of weights that are not multiples "
                f"of {1 << -node.weight_exp}; netx has no weight exponent, so this layer cannot be written exactly"
            )
        weight = stored >> -node.weight_exp
    where = f"node {node.name!r}"
    netx_weight, bits, exponent = optimize_weight_bits(weight, where)
    netx_effective = lava_weights(netx_weight, bits).astype(np.int64)
    netx_effective = netx_effective << exponent if exponent >= 0 else netx_effective >> -exponent
    if not np.array_equal(netx_effective, weight) or (exponent < 0 and (netx_weight % (1 << -exponent)).any()):
        raise QuantizationRangeError(
            f"{where}: netx would re-quantize weights in [{weight.min()}, {weight.max()}] "
            "(8-bit synapse: excitatory <= 255, inhibitory >= -256, mixed in [-256, 254])"
        )
    return weight


def _conv_weight(node: Conv2dInt) -> np.ndarray:
    """The kernel as it is: netx hands it to Lava's ``Conv`` unchanged (flipped and transposed exactly as
    the node's own Lava builder does)."""
    return node.weight.astype(np.int64)


def _lif_bias(neuron: LIFInt) -> np.ndarray:
    mant = neuron.bias_mant.astype(np.int64)
    shift = neuron.bias_exp - NETX_BIAS_EXP
    if shift < 0 and (mant % (1 << -shift)).any():
        raise QuantizationRangeError(
            f"node {neuron.name!r}: bias_exp {neuron.bias_exp} is below netx's fixed 6 and bias_mant is not a "
            f"multiple of {1 << -shift}"
        )
    bias = mant << shift if shift >= 0 else mant >> -shift
    if bias.min() < BIAS_MANT_TYPE.min() or bias.max() > BIAS_MANT_TYPE.max():
        raise QuantizationRangeError(
            f"node {neuron.name!r}: bias at netx's bias_exp 6 spans [{bias.min()}, {bias.max()}], "
            f"outside the 13-bit mantissa [{BIAS_MANT_TYPE.min()}, {BIAS_MANT_TYPE.max()}]"
        )
    return bias


def _layers(graph: Graph) -> list[tuple[Node, Node]]:
    consumers: dict[str, list[Node]] = {}
    for node in graph.nodes:
        for name in node.inputs:
            consumers.setdefault(name, []).append(node)
    pairs = []
    input_name = upstream = graph.input.name
    for node in graph.nodes:
        if node.name == input_name:
            continue
        if type(node) in NETX_SYNAPSES and node.inputs == (upstream,):
            continue
        if type(node) in NETX_NEURONS and len(node.inputs) == 1:
            synapse = graph.node(node.inputs[0])
            if type(synapse) in NETX_SYNAPSES and synapse.inputs == (upstream,):
                pairs.append((synapse, node))
                upstream = node.name
                continue
        raise UnsupportedLayerError(f"node {node.name!r}: {type(node).__name__} cannot be written to netx; {CHAIN}")
    for name, users in consumers.items():
        if len(users) > 1:
            raise UnsupportedLayerError(f"node {name!r} feeds {len(users)} nodes; netx holds a chain only")
    if not pairs:
        raise UnsupportedLayerError("graph has no DenseInt -> LIFInt layer to write to netx")
    return pairs


def _write_lif(group: Any, neuron: LIFInt) -> None:
    cell = group.create_group("neuron")
    cell.create_dataset("type", data=np.bytes_("CUBA"))
    cell.create_dataset("iDecay", data=int(neuron.du) + 1)
    cell.create_dataset("vDecay", data=int(neuron.dv))
    cell.create_dataset("vThMant", data=int(neuron.vth))
    cell.create_dataset("refDelay", data=1)
    cell.create_dataset("gradedSpike", data=False)


def _dense_bias(synapse: DenseInt | DelayDenseInt, bias: np.ndarray) -> np.ndarray:
    return bias


def _conv_bias(synapse: Conv2dInt, bias: np.ndarray) -> np.ndarray:
    grid = bias.reshape(synapse.out_channels, -1)
    if np.any(grid != grid[:, :1]):
        raise UnsupportedLayerError(
            f"node {synapse.name!r}: the next neuron's bias differs within a channel; netx holds a channel-wise "
            "conv bias"
        )
    return grid[:, 0]


def _write_conv(group: Any, synapse: Conv2dInt, weight: np.ndarray, bias: np.ndarray) -> None:
    group.create_dataset("type", data=[np.bytes_("conv")])
    group.create_dataset("shape", data=np.array(synapse.out_shape, np.int64))
    group.create_dataset("inChannels", data=int(synapse.in_channels))
    group.create_dataset("outChannels", data=int(synapse.out_channels))
    group.create_dataset("kernelSize", data=np.array(weight.shape[2:], np.int64))
    group.create_dataset("stride", data=np.array([synapse.stride_h, synapse.stride_w], np.int64))
    group.create_dataset("padding", data=np.array([synapse.padding_h, synapse.padding_w], np.int64))
    group.create_dataset("dilation", data=np.array([1, 1], np.int64))
    group.create_dataset("groups", data=int(synapse.groups))
    group.create_dataset("weight", data=weight.astype(np.float32))
    group.create_dataset("bias", data=bias.astype(np.float32))


def _write_dense(group: Any, synapse: DenseInt | DelayDenseInt, weight: np.ndarray, bias: np.ndarray) -> None:
    group.create_dataset("type", data=[np.bytes_("dense")])
    group.create_dataset("shape", data=np.array([weight.shape[0]], np.int64))
    group.create_dataset("inFeatures", data=int(weight.shape[1]))
    group.create_dataset("outFeatures", data=int(weight.shape[0]))
    group.create_dataset("weight", data=weight.astype(np.float32))
    group.create_dataset("bias", data=bias.astype(np.float32))


def _write_delay_dense(group: Any, synapse: DelayDenseInt, weight: np.ndarray, bias: np.ndarray) -> None:
    _write_dense(group, synapse, weight, bias)
    uniform = (synapse.delay == synapse.delay[:, :1]).all()
    delay = synapse.delay[:, 0] if uniform else synapse.delay
    group.create_dataset("delay", data=delay.astype(np.float32))


NETX_SYNAPSES.add(DenseInt, NetxSynapse(_dense_weight, _dense_bias, _write_dense, spatial=False))
NETX_SYNAPSES.add(DelayDenseInt, NetxSynapse(_dense_weight, _dense_bias, _write_delay_dense, spatial=False))
NETX_SYNAPSES.add(Conv2dInt, NetxSynapse(_conv_weight, _conv_bias, _write_conv, spatial=True))
NETX_NEURONS.add(LIFInt, NetxNeuron(_lif_bias, _write_lif))


def _netx_layers(graph: Graph) -> list[tuple[Node, Node, NetxSynapse, NetxNeuron]]:
    """Return (synapse, neuron, their writers) of every layer, each layer checked to have an exact netx form."""
    layers = []
    for synapse, neuron in _layers(graph):
        synapse_writer, neuron_writer = NETX_SYNAPSES.get(type(synapse)), NETX_NEURONS.get(type(neuron))
        synapse_writer.weight(synapse)
        synapse_writer.bias(synapse, neuron_writer.bias(neuron))
        layers.append((synapse, neuron, synapse_writer, neuron_writer))
    return layers


def check_netx(graph: Graph) -> None:
    """Check that ``graph`` has an exact netx form (what :func:`write_netx` would refuse, without writing).

    Raises:
        UnsupportedLayerError: if the graph is not a chain of synapses (``DenseInt``, ``DelayDenseInt``,
            ``Conv2dInt``) -> ``LIFInt``.
        QuantizationRangeError: if a layer has no exact netx form.
    """
    _netx_layers(graph)


def write_netx(graph: Graph, path: str | os.PathLike[str]) -> Path:
    """Write the integer ``graph`` to the netx file ``path`` atomically; returns the path.

    Raises:
        UnsupportedLayerError: if the graph is not a chain of synapses (``DenseInt``, ``DelayDenseInt``,
            ``Conv2dInt``) -> ``LIFInt``.
        QuantizationRangeError: if a layer has no exact netx form (see the module docstring).
        ModelFormatError: if h5py is missing.
    """
    h5py = require_h5py("writing .net files")
    layers = _netx_layers(graph)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as temporary:
        with h5py.File(temporary, "w") as handle:
            root = handle.create_group("layer")
            first = root.create_group("0")
            first.create_dataset("type", data=[np.bytes_("input")])
            first_synapse, _, first_writer, _ = layers[0]
            input_shape = first_synapse.in_shape if first_writer.spatial else (graph.input.size,)
            first.create_dataset("shape", data=np.array(input_shape, np.int64))
            index, spatial = 0, first_writer.spatial
            for synapse, neuron, synapse_writer, neuron_writer in layers:
                index += 1
                if spatial and not synapse_writer.spatial:  # netx connects (X, Y, C) to a dense layer only
                    flatten = root.create_group(str(index))  # through a flatten layer
                    flatten.create_dataset("type", data=[np.bytes_("flatten")])
                    flatten.create_dataset("shape", data=np.array([synapse.weight.shape[1], 1, 1], np.int64))
                    index += 1
                spatial = synapse_writer.spatial
                group = root.create_group(str(index))
                weight = synapse_writer.weight(synapse)
                synapse_writer.write(group, synapse, weight, synapse_writer.bias(synapse, neuron_writer.bias(neuron)))
                neuron_writer.write(group, neuron)
            simulation = handle.create_group("simulation")
            simulation.create_dataset("Ts", data=1)
            simulation.create_dataset("tSample", data=graph.timesteps)
    return path
