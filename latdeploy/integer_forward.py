"""The fixed-point network of a latdeploy model, run in torch with gradients: the forward of fine-tuning.

:class:`IntegerForward` takes a model (:class:`~latdeploy.nn.LatencyMLP`, or a
:class:`~latdeploy.nn.SpikingConvNet` made of ``Conv2d``/``Linear -> neuron`` layers, spike-time
max pools and flattens) and, on every call, quantizes each ``synapse -> neuron`` layer from the
model's current float weights with the **registered quantizer of the export pass**
(:func:`latdeploy.passes.quantize.neuron_quantizer`, so weight grid, scale, ``weight_exp``,
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
from latdeploy.ir import Dense, DenseInt, Node
from latdeploy.ir.conv import Conv2d, Conv2dInt
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.nn.fake_quant_int import conv_current, dense_current, neuron_forward, straight_through, weight_units
from latdeploy.nn.layers import SpikeTimeMaxPool2d, SumPool2d
from latdeploy.nn.network import LatencyMLP, SpikingConvNet, is_neuron
from latdeploy.passes.fuse_synapses import fuse_synapse_chains
from latdeploy.passes.quantize import neuron_quantizer
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
    pool: _Pool | None = None

    def fused(self, weight: torch.Tensor) -> torch.Tensor:
        """Return the weight of the IR synapse (the pool fused in, as FuseSynapseChains does) for torch ``weight``."""
        if self.pool is None:
            return weight
        return self.pool.spread(weight, isinstance(self.synapse, nn.Linear))

    def unfused(self, weight: np.ndarray) -> np.ndarray:
        """Return the torch weight whose :meth:`fused` weight is ``weight`` (one tap per pool window)."""
        if self.pool is None:
            return weight
        return self.pool.gather(weight, tuple(self.synapse.weight.shape))


@dataclass
class _Pool:
    """A plain average or sum pool (kernel = stride ``k``, no padding) fused into the synapse after it."""

    kernel: int
    factor: float
    shape: tuple[int, int, int]  # the pool's input (C, H, W)

    def spread(self, weight: torch.Tensor, dense: bool) -> torch.Tensor:
        """Return ``weight`` with each tap repeated over its pool window and scaled by the pool factor."""
        k, (channels, height, width) = self.kernel, self.shape
        taps = weight.reshape(weight.shape[0], channels, height // k, width // k) if dense else weight
        spread = taps.repeat_interleave(k, dim=2).repeat_interleave(k, dim=3) * self.factor
        return spread.reshape(weight.shape[0], -1) if dense else spread

    def gather(self, weight: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """Return the torch weight of ``shape`` whose :meth:`spread` is ``weight`` (one tap per window)."""
        taps = weight.reshape(weight.shape[0], *self.shape) if len(shape) == 2 else weight
        return (taps[:, :, :: self.kernel, :: self.kernel] / self.factor).reshape(shape).astype(np.float32)


def _steps(model: nn.Module) -> list[tuple[str, Any]]:
    """Return the model's forward as steps ``("layer", (synapse, neuron))``, ``("maxpool", module)``
    and ``("flatten", None)``."""
    if isinstance(model, LatencyMLP):
        return [("layer", (linear, neuron, None)) for linear, neuron in zip(model.linears, model.neurons, strict=True)]
    if not isinstance(model, SpikingConvNet):
        raise UnsupportedLayerError(
            f"fine-tuning supports LatencyMLP and SpikingConvNet models, not {type(model).__name__}"
        )
    steps: list[tuple[str, Any]] = []
    pending: nn.Module | None = None
    pool: nn.Module | None = None
    for index, layer in enumerate(model.layers):
        if pool is not None and pending is None and not isinstance(layer, (nn.Linear, nn.Conv2d, nn.Flatten)):
            raise UnsupportedLayerError(
                f"layer 'layers.{index}': fine-tuning fuses a pool only into a Conv2d or Linear right after it, "
                f"got {type(layer).__name__}"
            )
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
            steps.append(("layer", (pending, layer, pool)))
            pending = pool = None
        elif isinstance(layer, (nn.AvgPool2d, SumPool2d)) and pool is None and _plain(layer):
            steps.append(("pool", layer))
            pool = layer
        elif isinstance(layer, SpikeTimeMaxPool2d):
            steps.append(("maxpool", layer))
        elif isinstance(layer, nn.Flatten):
            steps.append(("flatten", None))
        else:
            raise UnsupportedLayerError(
                f"layer 'layers.{index}': fine-tuning does not support {type(layer).__name__} "
                "(supported: Conv2d, Linear, neurons, SpikeTimeMaxPool2d, Flatten, one plain AvgPool2d/SumPool2d "
                "before a Conv2d or Linear)"
            )
    return steps


def _pool_inputs(model: nn.Module, metadata: dict[str, Any]) -> dict[int, tuple[int, int, int]]:
    """Return the per-step input shape ``(C, H, W)`` of every pool layer of a conv net, by module id."""
    shapes: dict[int, tuple[int, int, int]] = {}
    if not isinstance(model, SpikingConvNet):
        return shapes
    probe = torch.zeros(1, *(int(d) for d in model.config["input_shape"]))
    with torch.no_grad():
        for layer in model.layers:
            if isinstance(layer, (nn.AvgPool2d, SumPool2d)):
                shapes[id(layer)] = tuple(int(d) for d in probe.shape[1:])
            if not is_neuron(layer):
                probe = layer(probe)
    return shapes


def _plain(pool: nn.Module) -> bool:
    """True for a pool with kernel = stride and no padding (square)."""
    kernel, stride, padding = pool.kernel_size, pool.stride, pool.padding
    return all(isinstance(v, int) for v in (kernel, stride, padding)) and kernel == stride and padding == 0


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
        graph = fuse_synapse_chains(graph_from_module(model, metadata))
        neurons = iter([node for node in graph.nodes if node.kind == "neuron"])
        self.layers: list[_Layer] = []
        shapes = _pool_inputs(model, metadata)
        for kind, item in self.steps:
            if kind in ("flatten", "pool"):
                continue
            neuron = next(neurons)  # a max pool is a sum pool and an IF neuron in the IR
            if kind == "layer":
                synapse = graph.node(neuron.inputs[0])
                if not isinstance(synapse, (Dense, Conv2d)):
                    raise UnsupportedLayerError(f"node {neuron.name!r}: fine-tuning needs a Dense or Conv2d synapse")
                quantile = (clip_quantiles or {}).get(neuron.name, 1.0)
                pool = None
                if item[2] is not None:
                    factor = 1.0 if isinstance(item[2], SumPool2d) else 1.0 / item[2].kernel_size ** 2
                    pool = _Pool(int(item[2].kernel_size), factor, shapes[id(item[2])])
                layer = _Layer(item[0], item[1], synapse, neuron, quantile, pool)
                with torch.no_grad():
                    fused = layer.fused(item[0].weight).numpy()
                if fused.shape != synapse.weight.shape or not np.allclose(fused, synapse.weight, rtol=1e-5, atol=1e-7):
                    raise UnsupportedLayerError(
                        f"node {synapse.name!r}: fine-tuning cannot express this fused pool and synapse"
                    )
                self.layers.append(layer)
        self.timesteps = int(graph.timesteps)

    @property
    def neurons(self) -> list[nn.Module]:
        """The torch neuron modules of the quantized layers, in order."""
        return [layer.neuron for layer in self.layers]

    def _float_nodes(self, layer: _Layer, weight: np.ndarray, bias: np.ndarray | None) -> tuple[Node, Node]:
        neuron = layer.float_neuron if bias is None else layer.float_neuron.replace(bias=bias.reshape(-1))
        return layer.float_synapse.replace(weight=weight), neuron

    def _quantize(self, layer: _Layer) -> QuantizedLayer:
        quantizer = neuron_quantizer(layer.float_neuron)
        bias = layer.neuron.bias.detach().cpu().numpy() if layer.neuron.bias is not None else None
        with torch.no_grad():
            weight = layer.fused(layer.synapse.weight.detach().cpu()).numpy()
        synapse, neuron = self._float_nodes(layer, weight, bias)
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
        smallest_firing = NEURON_KINDS.kind_of(neuron).firing_vth(neuron.vth)
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
            elif kind == "pool":
                continue  # fused into the next synapse, as on chip
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
            fused = layer.fused(layer.synapse.weight)
            current = dense_current(x.flatten(2), weight_units(fused, integer, units), q.synapse)
            shape: tuple[int, ...] = (current.shape[-1],)
        elif isinstance(q.synapse, Conv2dInt):
            weight = weight_units(layer.fused(layer.synapse.weight), torch.from_numpy(q.synapse.weight), units)
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
                layer.synapse.weight.copy_(torch.from_numpy(layer.unfused(weight)))
                if bias is not None:
                    layer.neuron.bias.copy_(torch.from_numpy(bias))
        return quantized
