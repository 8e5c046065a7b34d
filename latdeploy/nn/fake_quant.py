"""Fake quantization for quantization-aware training onto Loihi's weight grid.

The grid and scale are those of :func:`latdeploy.passes.quantize.quantize_layer`
with the clipping point at ``max |W|``: ``scale = highest / max|W|``, weights
rounded to multiples of the grid step (even values at 8 bits, mixed sign), bias
rounded to ``1 / scale``. A model whose weights already sit on this grid exports
with integer membranes equal to ``scale`` times the float ones.
"""

from __future__ import annotations

import torch
from torch import nn

from latdeploy.passes.quantize import weight_grid


def layer_scale(weight: torch.Tensor, bits: int = 8) -> tuple[float, int, int, int]:
    """Return ``(scale, step, lowest, highest)`` of the grid for ``weight``."""
    _, step, lowest, highest = weight_grid(weight.detach().cpu().numpy(), bits)
    largest = float(weight.detach().abs().max())
    return (highest / largest if largest > 0 else 1.0), step, lowest, highest


def fake_quantize(
    weight: torch.Tensor, bias: torch.Tensor | None, bits: int = 8
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Return weight and bias rounded onto the integer grid, with straight-through gradients."""
    scale, step, lowest, highest = layer_scale(weight, bits)
    quantized = torch.clamp(torch.round(weight * scale / step) * step, lowest, highest) / scale
    weight_q = weight + (quantized - weight).detach()
    if bias is None:
        return weight_q, None
    return weight_q, bias + (torch.round(bias * scale) / scale - bias).detach()


class FakeQuantizedWeights:
    """Context manager: while active, every ``linear -> neuron`` pair of a
    :class:`~latdeploy.nn.LatencyMLP` computes with fake-quantized weights and
    biases; :meth:`commit` writes the quantized values into the parameters."""

    def __init__(self, model: nn.Module, bits: int = 8) -> None:
        self.model, self.bits = model, bits
        self._handles: list = []

    def __enter__(self) -> FakeQuantizedWeights:
        for linear, neuron in zip(self.model.linears, self.model.neurons, strict=True):
            self._handles.append(
                nn.utils.parametrize.register_parametrization(linear, "weight", _WeightQuant(self.bits))
            )
            if neuron.bias is not None:
                nn.utils.parametrize.register_parametrization(neuron, "bias", _BiasQuant(linear, self.bits))
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
    def __init__(self, bits: int) -> None:
        super().__init__()
        self.bits = bits

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return fake_quantize(weight, None, self.bits)[0]


class _BiasQuant(nn.Module):
    def __init__(self, linear: nn.Linear, bits: int) -> None:
        super().__init__()
        self.linear_ref = [linear]  # a list, so the linear is not registered as a child module
        self.bits = bits

    def forward(self, bias: torch.Tensor) -> torch.Tensor:
        linear = self.linear_ref[0]
        raw = (
            linear.parametrizations.weight.original
            if nn.utils.parametrize.is_parametrized(linear, "weight")
            else linear.weight
        )
        scale = layer_scale(raw, self.bits)[0]
        return bias + (torch.round(bias * scale) / scale - bias).detach()
