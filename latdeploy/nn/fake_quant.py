"""Fake quantization for quantization-aware training onto Loihi's weight grid.

The grid and scale are those of :func:`latdeploy.passes.quantize_layers.quantize_layer`
with the clipping point at the ``clip_quantile`` of ``|W|`` (default 1: ``max |W|``):
``scale = highest / clip``, weights rounded to multiples of the grid step (even values
at 8 bits, mixed sign) and clipped to the grid, bias rounded to ``1 / scale``. A model
whose weights already sit on this grid exports with integer membranes equal to
``scale`` times the float ones.

This weight-only fake quantization is what ``tools/train.py``'s quantization-aware phase
uses (integrate-and-fire MLPs). ``latdeploy finetune`` trains the exact fixed-point network
of any supported model instead (:mod:`latdeploy.nn.integer_forward`).
"""

from __future__ import annotations

import torch
from torch import nn

from latdeploy.passes.quantize_layers import weight_grid


def layer_scale(weight: torch.Tensor, bits: int = 8, clip_quantile: float = 1.0) -> tuple[float, int, int, int]:
    """Return ``(scale, step, lowest, highest)`` of the grid for ``weight`` clipped at ``clip_quantile`` of ``|W|``."""
    _, step, lowest, highest = weight_grid(weight.detach().cpu().numpy(), bits)
    magnitude = weight.detach().abs().flatten().double()
    largest = float(magnitude.max())
    clip = float(torch.quantile(magnitude, clip_quantile)) if clip_quantile < 1.0 else largest
    clip = clip if clip > 0 else largest
    return (highest / clip if clip > 0 else 1.0), step, lowest, highest


def fake_quantize(
    weight: torch.Tensor, bias: torch.Tensor | None, bits: int = 8, clip_quantile: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Return weight and bias rounded onto the integer grid, with straight-through gradients."""
    scale, step, lowest, highest = layer_scale(weight, bits, clip_quantile)
    # symmetric clip (never -256 in mixed mode), so the largest |W| of the result is highest / scale
    # and quantizing it again at its maximum finds the same scale
    quantized = torch.clamp(torch.round(weight * scale / step) * step, max(lowest, -highest), highest) / scale
    weight_q = weight + (quantized - weight).detach()
    if bias is None:
        return weight_q, None
    return weight_q, bias + (torch.round(bias * scale) / scale - bias).detach()


class FakeQuantizedWeights:
    """Context manager: while active, every ``linear -> neuron`` pair of a
    :class:`~latdeploy.nn.LatencyMLP` computes with fake-quantized weights and
    biases; :meth:`commit` writes the quantized values into the parameters.
    ``clip_quantiles`` (one per layer, default all 1.0) set each layer's clipping point."""

    def __init__(self, model: nn.Module, bits: int = 8, clip_quantiles: list[float] | None = None) -> None:
        self.model, self.bits = model, bits
        self.clip_quantiles = list(clip_quantiles) if clip_quantiles is not None else [1.0] * len(model.linears)
        self._handles: list = []

    def __enter__(self) -> FakeQuantizedWeights:
        layers = zip(self.model.linears, self.model.neurons, self.clip_quantiles, strict=True)
        for linear, neuron, quantile in layers:
            self._handles.append(
                nn.utils.parametrize.register_parametrization(linear, "weight", _WeightQuant(self.bits, quantile))
            )
            if neuron.bias is not None:
                nn.utils.parametrize.register_parametrization(neuron, "bias", _BiasQuant(linear, self.bits, quantile))
        return self

    def __exit__(self, *exc: object) -> None:
        self.commit()

    def commit(self) -> None:
        """Remove the parametrizations, leaving the quantized values as plain parameters."""
        for linear, neuron in zip(self.model.linears, self.model.neurons, strict=True):
            if nn.utils.parametrize.is_parametrized(neuron, "bias"):
                nn.utils.parametrize.remove_parametrizations(neuron, "bias", leave_parametrized=True)
            if nn.utils.parametrize.is_parametrized(linear, "weight"):
                nn.utils.parametrize.remove_parametrizations(linear, "weight", leave_parametrized=True)


class _WeightQuant(nn.Module):
    def __init__(self, bits: int, clip_quantile: float) -> None:
        super().__init__()
        self.bits, self.clip_quantile = bits, clip_quantile

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return fake_quantize(weight, None, self.bits, self.clip_quantile)[0]


class _BiasQuant(nn.Module):
    def __init__(self, linear: nn.Linear, bits: int, clip_quantile: float) -> None:
        super().__init__()
        self.linear_ref = [linear]  # a list, so the linear is not registered as a child module
        self.bits, self.clip_quantile = bits, clip_quantile

    def forward(self, bias: torch.Tensor) -> torch.Tensor:
        linear = self.linear_ref[0]
        raw = (
            linear.parametrizations.weight.original
            if nn.utils.parametrize.is_parametrized(linear, "weight")
            else linear.weight
        )
        scale = layer_scale(raw, self.bits, self.clip_quantile)[0]
        return bias + (torch.round(bias * scale) / scale - bias).detach()
