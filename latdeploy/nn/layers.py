"""Stateless layers of latency-coded conv nets that torch lacks, and batch norm folding.

``SumPool2d`` and ``SpikeTimeMaxPool2d`` act per sample like ``nn.AvgPool2d`` (on
``[N, C, H, W]``; a time-first network flattens time into the batch).
``AxonalDelay`` acts on time-first ``[T, B, ...]`` tensors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SumPool2d(nn.Module):
    """Sum over each ``kernel_size`` window (``nn.AvgPool2d`` times the window size, exact).

    On Loihi this is a depthwise convolution with unit weights.
    """

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0) -> None:
        super().__init__()
        self.kernel_size = int(kernel_size)
        self.stride = int(stride) if stride is not None else self.kernel_size
        self.padding = int(padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the window sums of ``x`` ``[N, C, H, W]``."""
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, divisor_override=1)


class SpikeTimeMaxPool2d(nn.Module):
    """Max pooling of binary spikes, step by step: a window fires when any input in it fires.

    For single-spike (TTFS) inputs the first output spike is the earliest input spike,
    i.e. the max of the latency-coded values. Deployed as a sum pool followed by a
    threshold-1 integrate-and-fire neuron (one more hardware layer, exact).
    """

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0) -> None:
        super().__init__()
        self.kernel_size = int(kernel_size)
        self.stride = int(stride) if stride is not None else self.kernel_size
        self.padding = int(padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the window maxima of ``x`` ``[N, C, H, W]`` (0/1 spikes)."""
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AxonalDelay(nn.Module):
    """Delay spikes by ``steps`` time steps: ``out[t] = x[t - steps]`` (zeros first), on ``[T, B, ...]``."""

    def __init__(self, steps: int) -> None:
        super().__init__()
        if steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        self.steps = int(steps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x`` ``[T, B, ...]`` shifted later by ``steps`` along time (same shape)."""
        if self.steps == 0:
            return x
        shifted = torch.zeros_like(x)
        if self.steps < x.shape[0]:
            shifted[self.steps :] = x[: x.shape[0] - self.steps]
        return shifted


def fold_batchnorm(
    weight: torch.Tensor, bias: torch.Tensor | None, norm: nn.BatchNorm1d | nn.BatchNorm2d
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold an eval-mode batch norm that follows a ``Linear``/``Conv2d`` into its weight and bias.

    ``y = gamma (W x + b - mean) / sqrt(var + eps) + beta = W' x + b'`` with
    ``W' = W * s`` per output channel and ``b' = (b - mean) s + beta``, ``s = gamma / sqrt(var + eps)``.

    Returns:
        ``(W', b')`` (``b'`` has one value per output channel).

    Raises:
        ValueError: if the norm has no running statistics or its size differs from the
            layer's output channels.
    """
    if norm.running_mean is None or norm.running_var is None:
        raise ValueError("batch norm without running statistics cannot be folded")
    channels = weight.shape[0]
    if norm.num_features != channels:
        raise ValueError(f"batch norm has {norm.num_features} features, the layer {channels} outputs")
    with torch.no_grad():
        gamma = norm.weight if norm.weight is not None else torch.ones(channels)
        beta = norm.bias if norm.bias is not None else torch.zeros(channels)
        scale = gamma / torch.sqrt(norm.running_var + norm.eps)
        base = bias if bias is not None else torch.zeros(channels)
        folded_weight = weight * scale.reshape(-1, *([1] * (weight.dim() - 1)))
        folded_bias = (base - norm.running_mean) * scale + beta
    return folded_weight.detach().clone(), folded_bias.detach().clone()
