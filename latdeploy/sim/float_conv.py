"""Float kernels of the convolutional nodes (:mod:`latdeploy.ir.conv`): the torch operations
the torch layers run, on ``[T, B, N]`` values reshaped to ``[T*B, C, H, W]`` as a
time-first network flattens time into the batch."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from latdeploy.ir.conv import AxonalDelay, Conv2d, Pool2d
from latdeploy.sim.float_sim import register_float_kernel


def _images(node: Conv2d | Pool2d, values: torch.Tensor) -> torch.Tensor:
    return values.reshape(-1, *node.in_shape)


@register_float_kernel(Conv2d)
def conv2d_float(node: Conv2d, spikes: torch.Tensor) -> torch.Tensor:
    """Return ``F.conv2d`` of every step of ``spikes`` ``[T, B, C*H*W]`` as ``[T, B, size]``."""
    out = F.conv2d(
        _images(node, spikes),
        torch.from_numpy(node.weight),
        stride=(node.stride_h, node.stride_w),
        padding=(node.padding_h, node.padding_w),
        groups=node.groups,
    )
    return out.reshape(*spikes.shape[:2], -1)


@register_float_kernel(Pool2d)
def pool2d_float(node: Pool2d, spikes: torch.Tensor) -> torch.Tensor:
    """Return the window averages (``"avg"``) or sums (``"sum"``) of every step as ``[T, B, size]``."""
    out = F.avg_pool2d(
        _images(node, spikes),
        (node.kernel_h, node.kernel_w),
        (node.stride_h, node.stride_w),
        (node.padding_h, node.padding_w),
        divisor_override=1 if node.mode == "sum" else None,
    )
    return out.reshape(*spikes.shape[:2], -1)


@register_float_kernel(AxonalDelay)
def axonal_delay_float(node: AxonalDelay, spikes: torch.Tensor) -> torch.Tensor:
    """Return ``spikes`` ``[T, B, N]`` shifted ``node.steps`` steps later (zeros first)."""
    shifted = torch.zeros_like(spikes)
    if node.steps < spikes.shape[0]:
        shifted[node.steps :] = spikes[: spikes.shape[0] - node.steps]
    return shifted
