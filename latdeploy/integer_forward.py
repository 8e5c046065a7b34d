"""The fixed-point network of a latdeploy model, run in torch with gradients: the forward of fine-tuning.

:class:`IntegerForward` takes a model (:class:`~latdeploy.nn.LatencyMLP`, or a
:class:`~latdeploy.nn.SpikingConvNet` made of ``Conv2d``/``Linear -> neuron`` layers, spike-time
max pools and flattens) and, on every call, quantizes each ``synapse -> neuron`` layer from the
model's current float weights with the **registered quantizer of the export pass**
(:data:`latdeploy.passes.quantize.NEURON_QUANTIZERS`, so weight grid, scale, ``weight_exp``,
``vth``, ``bias_mant``, ``du``, ``dv`` are the very integers ``latdeploy export`` chooses), then
runs those integers with Lava's fixed-point rules (:mod:`latdeploy.nn.fake_quant_int`): its spikes
are the fixed-point simulator's, spike for spike, for every neuron kind (stock LIF with decays,
soft reset, TTFS, multi-threshold), while gradients reach the float parameters straight through.
The host-side encoder (latency, learned LE, STC) runs in float as at export.

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

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.profile import Profile
from latdeploy.ir import Dense, DenseInt, LIFInt, Node
from latdeploy.ir.conv import Conv2d, Conv2dInt
from latdeploy.nn.fake_quant_int import conv_current, dense_current, neuron_forward, straight_through, weight_units
from latdeploy.nn.layers import SpikeTimeMaxPool2d
from latdeploy.nn.network import LatencyMLP, SpikingConvNet, is_neuron
from latdeploy.passes.quantize import NEURON_QUANTIZERS
from latdeploy.sim.fixed import lava_weights

SETTLE_ROUNDS = 8


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
    synapse: nn.Module
    neuron: nn.Module
    float_synapse: Node
    float_neuron: Node
    clip_quantile: float


def _steps(model: nn.Module) -> list[tuple[str, Any]]:
    """Return the model's forward as steps ``("layer", (synapse, neuron))``, ``("maxpool", module)``
    and ``("flatten", None)``."""
    if isinstance(model, LatencyMLP):
        return [("layer", pair) for pair in zip(model.linears, model.neurons, strict=True)]
    if not isinstance(model, SpikingConvNet):
        raise UnsupportedLayerError(
            f"fine-tuning supports LatencyMLP and SpikingConvNet models, not {type(model).__name__}"
        )
    steps: list[tuple[str, Any]] = []
    pending: nn.Module | None = None
    for index, layer in enumerate(model.layers):
        if pending is not None and not is_neuron(layer):
            raise UnsupportedLayerError(
                f"layer 'layers.{index}': fine-tuning needs each Conv2d/Linear directly followed by a neuron, "
                f"got {type(layer).__name__}"
            )
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            if layer.bias is not None:
                raise UnsupportedLayerError(f"layer 'layers.{index}': fine-tuning supports synapses without bias")
            pending = layer
        elif is_neuron(layer):
            if pending is None:
                raise UnsupportedLayerError(f"layer 'layers.{index}': a neuron must follow a Conv2d or Linear")
            steps.append(("layer", (pending, layer)))
            pending = None
        elif isinstance(layer, SpikeTimeMaxPool2d):
            steps.append(("maxpool", layer))
        elif isinstance(layer, nn.Flatten):
            steps.append(("flatten", None))
        else:
            raise UnsupportedLayerError(
                f"layer 'layers.{index}': fine-tuning does not support {type(layer).__name__} "
                "(supported: Conv2d, Linear, neurons, SpikeTimeMaxPool2d, Flatten)"
            )
    return steps


def _same(first: tuple[Node, Node], second: tuple[Node, Node]) -> bool:
    (synapse_a, neuron_a), (synapse_b, neuron_b) = first, second
    return (
        np.array_equal(synapse_a.weight, synapse_b.weight)
        and getattr(synapse_a, "weight_exp", 0) == getattr(synapse_b, "weight_exp", 0)
        and np.array_equal(neuron_a.bias_mant, neuron_b.bias_mant)
        and (neuron_a.vth, neuron_a.du, neuron_a.dv) == (neuron_b.vth, neuron_b.du, neuron_b.dv)
    )


class IntegerForward:
    """Callable ``(inputs) -> (layer_spikes, output_v_pre)`` like the model, computing the fixed-point network.

    ``clip_quantiles`` maps IR neuron names to the clipping point the export's calibration chose
    (default ``1.0``: ``max |W|``). Raises :class:`UnsupportedLayerError` (construction) for a model
    it cannot run.
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
        self.steps = _steps(model)
        graph = graph_from_module(model, metadata)
        neurons = iter([node for node in graph.nodes if node.kind == "neuron"])
        self.layers: list[_Layer] = []
        for kind, item in self.steps:
            if kind == "flatten":
                continue
            neuron = next(neurons)  # a max pool is a sum pool and an IF neuron in the IR
            if kind == "layer":
                synapse = graph.node(neuron.inputs[0])
                if not isinstance(synapse, (Dense, Conv2d)):
                    raise UnsupportedLayerError(f"node {neuron.name!r}: fine-tuning needs a Dense or Conv2d synapse")
                quantile = (clip_quantiles or {}).get(neuron.name, 1.0)
                self.layers.append(_Layer(item[0], item[1], synapse, neuron, quantile))
        self.timesteps = int(graph.timesteps)

    @property
    def neurons(self) -> list[nn.Module]:
        """The torch neuron modules of the quantized layers, in order."""
        return [layer.neuron for layer in self.layers]

    def _float_nodes(self, layer: _Layer, weight: np.ndarray, bias: np.ndarray | None) -> tuple[Node, Node]:
        neuron = layer.float_neuron if bias is None else layer.float_neuron.replace(bias=bias.reshape(-1))
        return layer.float_synapse.replace(weight=weight), neuron

    def _quantize(self, layer: _Layer) -> QuantizedLayer:
        quantizer = NEURON_QUANTIZERS[type(layer.float_neuron)]
        bias = layer.neuron.bias.detach().cpu().numpy() if layer.neuron.bias is not None else None
        synapse, neuron = self._float_nodes(layer, layer.synapse.weight.detach().cpu().numpy(), bias)
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
        if layer.neuron.bias is None:
            return 0.0
        smallest_firing = neuron.vth + 1 if isinstance(neuron, LIFInt) else neuron.vth
        gap = min(max(layer.neuron.threshold * scale - (smallest_firing - 1), 0.0), 1.0)
        return (2.0 * gap - 1.0) / (2.0 * self.timesteps + 1.0)

    def _committed(self, layer: _Layer, quantized: tuple[Node, Node, dict]) -> tuple[np.ndarray, np.ndarray | None]:
        """Return the float32 weight and bias that stand for ``quantized``'s integers."""
        synapse_int, neuron_int, facts = quantized
        scale = float(facts["scale"])
        exponent = 2.0 ** int(getattr(synapse_int, "weight_exp", 0))
        weight = (synapse_int.weight.astype(np.float64) * exponent / scale).astype(np.float32)
        if layer.neuron.bias is None:
            return weight, None
        delta = self._delta(layer, neuron_int, scale)
        bias = ((neuron_int.bias_mant.astype(np.float64) + delta) / scale).astype(np.float32)
        return weight, bias.reshape(tuple(layer.neuron.bias.shape))

    def quantized(self) -> list[QuantizedLayer]:
        """Return every layer's integers for the model's current weights (see the module docstring)."""
        return [self._quantize(layer) for layer in self.layers]

    def __call__(self, inputs: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Run the fixed-point network on model inputs (what the model's encoder takes).

        Returns:
            ``(layer_spikes, output_v_pre)`` as the model's forward: payloads ``[T, B, ...]`` of
            each quantized layer (float32) and the output's ``v`` before reset in float units.
        """
        quantized = iter(zip(self.layers, self.quantized(), strict=True))
        x = self.model.encoder(inputs)
        layer_spikes: list[torch.Tensor] = []
        v_pre = x
        for kind, item in self.steps:
            steps, batch = x.shape[:2]
            if kind == "flatten":
                x = x.flatten(2)
            elif kind == "maxpool":
                pooled = F.max_pool2d(x.flatten(0, 1), item.kernel_size, item.stride, item.padding)
                x = pooled.reshape(steps, batch, *pooled.shape[1:])
            else:
                layer, integers = next(quantized)
                x, v_pre = self._layer(layer, integers, x)
                layer_spikes.append(x.float())
        return layer_spikes, v_pre.float()

    def _layer(self, layer: _Layer, q: QuantizedLayer, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        steps, batch = x.shape[:2]
        units = q.scale / 2.0**q.weight_exp
        if isinstance(q.synapse, DenseInt):
            integer = torch.from_numpy(lava_weights(q.synapse.weight, q.synapse.num_weight_bits))
            current = dense_current(x.flatten(2), weight_units(layer.synapse.weight, integer, units), q.synapse)
            shape: tuple[int, ...] = (current.shape[-1],)
        elif isinstance(q.synapse, Conv2dInt):
            weight = weight_units(layer.synapse.weight, torch.from_numpy(q.synapse.weight), units)
            current = conv_current(x.flatten(0, 1), weight, q.synapse)
            shape = tuple(current.shape[1:])
            current = current.reshape(steps, batch, -1)
        else:
            raise UnsupportedLayerError(f"node {q.synapse.name!r}: {type(q.synapse).__name__} is not supported")
        bias_mant = torch.from_numpy(q.neuron.bias_mant.astype(np.float64))
        if layer.neuron.bias is not None:
            bias_mant = straight_through(layer.neuron.bias.reshape(-1).to(torch.float64) * q.scale, bias_mant)
        payloads, v_pre = neuron_forward(
            current, bias_mant, q.neuron, q.scale, layer.neuron.surrogate, layer.neuron.surrogate_slope
        )
        return payloads.reshape(steps, batch, *shape), v_pre.reshape(steps, batch, *shape)

    def commit(self) -> list[QuantizedLayer]:
        """Write the float values of the current integers into the model's weights and biases.

        Returns:
            The integers written (the export quantizes the new model to them when every layer ``settled``).
        """
        quantized = self.quantized()
        with torch.no_grad():
            for layer, q in zip(self.layers, quantized, strict=True):
                weight, bias = self._committed(layer, (q.synapse, q.neuron, {"scale": q.scale}))
                layer.synapse.weight.copy_(torch.from_numpy(weight))
                if bias is not None:
                    layer.neuron.bias.copy_(torch.from_numpy(bias))
        return quantized
