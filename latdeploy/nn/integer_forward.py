"""The fixed-point network of a latdeploy model, run in torch with gradients: the forward of fine-tuning.

:class:`IntegerForward` converts the model with the torch frontend
(:func:`latdeploy.frontend.torch_module.convert_module`: the float IR graph and, per node, the
torch parameters it was made from), fuses its synapse chains as the export does and runs that
graph node by node. On every call it quantizes each ``synapse -> neuron`` layer from the model's
current float parameters with the **registered quantizer of the export pass**
(:func:`latdeploy.passes.quantize.neuron_quantizer`, so weight grid, scale, ``weight_exp``,
``vth``, ``bias_mant``, ``du``, ``dv`` are the very integers ``latdeploy export`` chooses), then
runs those integers with Lava's fixed-point rules (:mod:`latdeploy.nn.fake_quant_int`: the
synapse per integer node type, :data:`TORCH_SYNAPSES`; the neuron by its kind's firing rule): its
spikes are the fixed-point simulator's, spike for spike, for every neuron kind (stock LIF with
decays, soft reset, TTFS, multi-threshold), while gradients reach the float parameters straight
through. A layer no torch parameter feeds (the sum pool and integrate-and-fire neuron a spike-time
max pool becomes) runs with its constant integers. The host-side encoder (latency, learned LE,
STC) runs in float as at export.

Settling: :meth:`IntegerForward.commit` writes the float values the integers stand for
(``W = W_int 2^weight_exp / scale``) into the model. Quantizing those again must give the same
integers, or the exported network would not be the trained one; each layer's integers are
therefore iterated to that fixed point (re-quantized from their own float values, clipping point
``max |W|``) before use (:data:`SETTLE_ROUNDS` at most; ``settled`` says whether it was reached).

Float model = fixed point: with weights on the grid, an integrate-and-fire layer's float membrane
is ``V_int / scale`` up to float32 rounding, which could still decide a tie ``V_int == threshold``
either way. :meth:`commit` therefore stores the bias as ``(bias_mant + delta) / scale`` with
``delta = (2 g - 1) / (2 T + 1)`` (``g = threshold * scale - (m - 1)``, ``m`` the smallest firing
``V_int``): over up to ``T`` integrating steps the offset stays strictly inside the interval in which
the float test ``V >= threshold`` and the integer one agree, and the export's ``round(bias * scale)``
still gives ``bias_mant``. A neuron without a bias, a voltage or current decay (rounded toward zero in
fixed point), or a negative ``weight_exp`` (floored sums) keeps float and fixed close, not equal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.sources import ParameterSource
from latdeploy.frontend.torch_module import convert_module
from latdeploy.hw.profile import Profile
from latdeploy.ir import DenseInt, Graph, Node, SpikeInput
from latdeploy.ir.conv import Conv2dInt
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.nn.fake_quant_int import conv_current, dense_current, neuron_forward, straight_through, weight_units
from latdeploy.nn.network import is_neuron
from latdeploy.passes.fuse_synapses import fuse_synapse_chains
from latdeploy.passes.quantize import neuron_quantizer
from latdeploy.registry import Registry
from latdeploy.sim.fixed import lava_weights

SETTLE_ROUNDS = 8
DEFAULT_SURROGATE = ("fast_sigmoid", 5.0)
"""Surrogate gradient (name, slope) of a neuron no torch neuron module stands for."""


@dataclass(frozen=True)
class TorchSynapse:
    """How an integer synapse node runs in torch: ``integers(node)`` are the weights as the fixed-point
    simulator applies them, ``current(node, weight, x)`` the synaptic input for payloads ``x``
    ``[T, B, n_in]`` with ``weight`` holding those integers (straight-through), ``[T, B, n_out]``."""

    integers: Callable[[Any], np.ndarray]
    current: Callable[[Any, torch.Tensor, torch.Tensor], torch.Tensor]


def _conv(node: Conv2dInt, weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    steps, batch = x.shape[:2]
    images = x.reshape(steps * batch, node.in_channels, node.in_height, node.in_width)
    return conv_current(images, weight, node).reshape(steps, batch, -1)


TORCH_SYNAPSES: Registry[type[Node], TorchSynapse] = Registry("torch synapse", UnsupportedLayerError)
"""The torch forward of every integer synapse node type fine-tuning runs."""
TORCH_SYNAPSES.add(
    DenseInt,
    TorchSynapse(lambda node: lava_weights(node.weight, node.num_weight_bits), lambda n, w, x: dense_current(x, w, n)),
)
TORCH_SYNAPSES.add(Conv2dInt, TorchSynapse(lambda node: np.asarray(node.weight), _conv))


@dataclass
class QuantizedLayer:
    """The integers of one ``synapse -> neuron`` layer: integer nodes, ``scale`` (``V_int / V_float``),
    ``weight_exp``, the bias offset ``delta`` :meth:`IntegerForward.commit` stores, and ``settled``."""

    synapse: Node
    neuron: Node
    scale: float
    weight_exp: int
    delta: float
    settled: bool


@dataclass
class _Layer:
    """One ``synapse -> neuron`` layer of the fused float graph and the torch parameters it reads:
    the synapse's weight (``weight``, ``None``: constant) and the neuron's bias (``bias``, ``None``: constant)."""

    float_synapse: Node
    float_neuron: Node
    weight: ParameterSource | None
    bias: nn.Parameter | None
    module: nn.Module | None
    clip_quantile: float

    @property
    def surrogate(self) -> tuple[str, float]:
        """The neuron's surrogate gradient (name, slope)."""
        if self.module is None:
            return DEFAULT_SURROGATE
        return self.module.surrogate, self.module.surrogate_slope

    def float_weight(self) -> np.ndarray | None:
        """Return the synapse's float IR weight for the current torch weight (``None``: constant synapse)."""
        if self.weight is None:
            return None
        with torch.no_grad():
            return self.weight.ir_weight(self.weight.weight.detach().cpu()).numpy()


def _same(first: tuple[Node, Node], second: tuple[Node, Node]) -> bool:
    (synapse_a, neuron_a), (synapse_b, neuron_b) = first, second
    return (
        np.array_equal(synapse_a.weight, synapse_b.weight)
        and getattr(synapse_a, "weight_exp", 0) == getattr(synapse_b, "weight_exp", 0)
        and np.array_equal(neuron_a.bias_mant, neuron_b.bias_mant)
        and (neuron_a.vth, neuron_a.du, neuron_a.dv) == (neuron_b.vth, neuron_b.du, neuron_b.dv)
    )


def _refuse_folded(node: Node, source: ParameterSource | None) -> None:
    if source is not None and source.folded:
        raise UnsupportedLayerError(
            f"node {node.name!r}: fine-tuning trains synapse weights and neuron biases only, but layer "
            f"{', '.join(repr(path) for path in source.folded)} is folded into it (batch norm or synapse bias)"
        )


def _weight_source(synapse: Node, source: ParameterSource | None) -> ParameterSource | None:
    """Return the source of ``synapse``'s weight (``None`` for a synapse without one, e.g. a pool).

    Raises:
        UnsupportedLayerError: if the weight is not the source's torch weight (through a fused pool).
    """
    if not hasattr(synapse, "weight"):
        return None
    if source is None or source.weight is None:
        raise UnsupportedLayerError(
            f"node {synapse.name!r}: fine-tuning cannot map its weight (a fused synapse chain) to one torch parameter"
        )
    with torch.no_grad():
        fused = source.ir_weight(source.weight.detach().cpu()).numpy()
    if fused.shape != synapse.weight.shape or not np.allclose(fused, synapse.weight, rtol=1e-5, atol=1e-7):
        raise UnsupportedLayerError(
            f"node {synapse.name!r}: fine-tuning cannot express this fused pool and synapse (layer {source.path!r})"
        )
    return source


def _layers(graph: Graph, sources: dict[str, ParameterSource], quantiles: dict[str, float]) -> list[_Layer]:
    """Return the ``synapse -> neuron`` layers of fused ``graph`` in order.

    Raises:
        UnsupportedLayerError: for a node that is neither the input, a neuron nor the synapse feeding
            one, or a layer whose values the map does not tie to torch parameters.
    """
    synapses = {graph.node(n.inputs[0]).name for n in graph.neurons() if len(n.inputs) == 1}
    layers = []
    for node in graph.nodes:
        if isinstance(node, SpikeInput) or (node.name in synapses and node.kind == "synapse"):
            continue
        if node.kind != "neuron" or len(node.inputs) != 1 or graph.node(node.inputs[0]).kind != "synapse":
            raise UnsupportedLayerError(
                f"node {node.name!r}: fine-tuning runs synapse -> neuron layers only, not {type(node).__name__} here"
            )
        synapse, source = graph.node(node.inputs[0]), sources.get(node.name)
        _refuse_folded(synapse, sources.get(synapse.name))
        _refuse_folded(node, source)
        module = source.module if source is not None and is_neuron(source.module) else None
        bias = source.bias if source is not None else None
        weight = _weight_source(synapse, sources.get(synapse.name))
        layers.append(_Layer(synapse, node, weight, bias, module, quantiles.get(node.name, 1.0)))
    return layers


class IntegerForward:
    """Callable ``(inputs) -> (layer_spikes, output_v_pre)`` like the model, computing the fixed-point network.

    ``clip_quantiles`` maps IR neuron names to the clipping point the export's calibration chose
    (default ``1.0``: ``max |W|``). Raises :class:`UnsupportedLayerError` (construction) for a model
    the frontend cannot convert, or whose graph holds a node fine-tuning cannot run or map to torch
    parameters (named).
    """

    def __init__(
        self,
        model: nn.Module,
        metadata: dict[str, Any],
        profile: Profile,
        bits: int,
        clip_quantiles: dict[str, float] | None = None,
    ) -> None:
        self.model, self.profile, self.bits = model, profile, int(bits)
        conversion = convert_module(model, metadata)
        self.graph = fuse_synapse_chains(conversion.graph)
        self.layers = _layers(self.graph, conversion.sources, clip_quantiles or {})
        self.timesteps = int(self.graph.timesteps)

    @property
    def neurons(self) -> list[nn.Module]:
        """The torch neuron modules of the layers, in order (layers the IR made, e.g. a max pool's, have none)."""
        return [layer.module for layer in self.layers if layer.module is not None]

    def _float_nodes(self, layer: _Layer, weight: np.ndarray | None, bias: np.ndarray | None) -> tuple[Node, Node]:
        neuron = layer.float_neuron if bias is None else layer.float_neuron.replace(bias=bias.reshape(-1))
        synapse = layer.float_synapse if layer.weight is None else layer.float_synapse.replace(weight=weight)
        return synapse, neuron

    def _quantize(self, layer: _Layer) -> QuantizedLayer:
        quantizer = neuron_quantizer(layer.float_neuron)
        bias = layer.bias.detach().cpu().numpy() if layer.bias is not None else None
        synapse, neuron = self._float_nodes(layer, layer.float_weight(), bias)
        quantile, settled = layer.clip_quantile, False
        current = quantizer(synapse, neuron, self.profile, quantile, self.bits)
        for _ in range(SETTLE_ROUNDS):
            floats = self._float_nodes(layer, *self._committed(layer, current))
            again = quantizer(*floats, self.profile, 1.0, self.bits)
            if _same(current[:2], again[:2]):
                settled = True
                break
            current = again
        synapse_int, neuron_int, facts = current
        scale = float(facts["scale"])
        return QuantizedLayer(
            synapse_int,
            neuron_int,
            scale,
            int(getattr(synapse_int, "weight_exp", 0)),
            self._delta(layer, neuron_int, scale),
            settled,
        )

    def _delta(self, layer: _Layer, neuron: Node, scale: float) -> float:
        if layer.bias is None:
            return 0.0
        smallest_firing = NEURON_KINDS.kind_of(neuron).firing_vth(neuron.vth)
        gap = min(max(layer.float_neuron.threshold * scale - (smallest_firing - 1), 0.0), 1.0)
        return (2.0 * gap - 1.0) / (2.0 * self.timesteps + 1.0)

    def _committed(self, layer: _Layer, quantized: tuple[Node, Node, dict]) -> tuple[np.ndarray, np.ndarray | None]:
        """Return the float32 weight and bias that stand for ``quantized``'s integers."""
        synapse_int, neuron_int, facts = quantized
        scale = float(facts["scale"])
        exponent = 2.0 ** int(getattr(synapse_int, "weight_exp", 0))
        weight = (synapse_int.weight.astype(np.float64) * exponent / scale).astype(np.float32)
        if layer.bias is None:
            return weight, None
        delta = self._delta(layer, neuron_int, scale)
        bias = ((neuron_int.bias_mant.astype(np.float64) + delta) / scale).astype(np.float32)
        return weight, bias.reshape(tuple(layer.bias.shape))

    def quantized(self) -> list[QuantizedLayer]:
        """Return every layer's integers for the model's current parameters (see the module docstring)."""
        return [self._quantize(layer) for layer in self.layers]

    def __call__(self, inputs: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Run the fixed-point network on model inputs (what the model's encoder takes).

        Returns:
            ``(layer_spikes, output_v_pre)`` as the model's forward: payloads ``[T, B, n]`` of each layer
            with a torch neuron module (float32, flattened per step as in the IR) and the output's ``v``
            before reset in float units.
        """
        encoded = self.model.encoder(inputs)
        values = {node.name: encoded.flatten(2) for node in self.graph.nodes if isinstance(node, SpikeInput)}
        layer_spikes: list[torch.Tensor] = []
        v_pre = encoded
        for layer, integers in zip(self.layers, self.quantized(), strict=True):
            payloads, v_pre = self._layer(layer, integers, values[layer.float_synapse.inputs[0]])
            values[layer.float_neuron.name] = payloads
            if layer.module is not None:
                layer_spikes.append(payloads.float())
        return layer_spikes, v_pre.float()

    def _layer(self, layer: _Layer, q: QuantizedLayer, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        synapse = TORCH_SYNAPSES.get(type(q.synapse), subject=f"node {q.synapse.name!r}")
        integer = torch.from_numpy(synapse.integers(q.synapse))
        if layer.weight is None:
            weight = integer.to(torch.float64)
        else:
            units = q.scale / 2.0**q.weight_exp
            weight = weight_units(layer.weight.ir_weight(layer.weight.weight), integer, units)
        current = synapse.current(q.synapse, weight, x)
        bias_mant = torch.from_numpy(q.neuron.bias_mant.astype(np.float64))
        if layer.bias is not None:
            bias_mant = straight_through(layer.bias.reshape(-1).to(torch.float64) * q.scale, bias_mant)
        return neuron_forward(current, bias_mant, q.neuron, q.scale, *layer.surrogate)

    def commit(self) -> list[QuantizedLayer]:
        """Write the float values of the current integers into the model's weights and biases.

        Returns:
            The integers written (the export quantizes the new model to them when every layer ``settled``).
        """
        quantized = self.quantized()
        with torch.no_grad():
            for layer, q in zip(self.layers, quantized, strict=True):
                weight, bias = self._committed(layer, (q.synapse, q.neuron, {"scale": q.scale}))
                if layer.weight is not None:
                    layer.weight.weight.copy_(torch.from_numpy(layer.weight.torch_weight(weight)))
                if bias is not None:
                    layer.bias.copy_(torch.from_numpy(bias))
        return quantized
