"""Fixed-point kernels of the convolutional nodes, bit-identical to lava-nc 0.10.0.

``Conv2dInt`` follows ``PyConvModelFixed`` (``lava/proc/conv/models.py``): input
payloads as they are (binary spikes are 0/1; graded payloads, a multi-threshold
layer's levels, multiply the kernel as Lava's ``Conv`` with ``num_message_bits > 0``
does; the Lava backend sets those bits from the source layer), the convolution summed exactly (Lava sums in
float64 with scipy; every partial sum is an integer far below 2**53, so float64 is
exact here too; sparse inputs are summed event by event in integers by
:func:`latdeploy.sim.kernels.conv_input_wrapped`), cast to int32, then ``signed_clamp(x, 24)``, which
*wraps* to 24 bits: ``(x + 2**23) mod 2**24 - 2**23`` (both casts fused into the kernels' last
pass). Lava's ``Conv`` ignores ``weight_exp`` and ``num_weight_bits``; so does this kernel.
``AxonalDelay`` shifts along time.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from latdeploy.ir.conv import AxonalDelay, Conv2dInt
from latdeploy.sim.fixed import register_fixed_kernel

CONV_WRAP_BITS = 24


def wrap_signed(values: np.ndarray, bits: int) -> np.ndarray:
    """Return ``values`` wrapped to signed ``bits`` bits (Lava's ``signed_clamp``), as int64."""
    base = np.int64(1) << bits
    return (values.astype(np.int64) + base // 2) % base - base // 2


@register_fixed_kernel(Conv2dInt)
def conv2d_int(node: Conv2dInt, spikes: np.ndarray) -> np.ndarray:
    """Return the synaptic input ``a`` ``[B, T, size]`` (int32) for input payloads ``[B, T, C*H*W]``."""
    from latdeploy.sim.kernels import EVENT_DENSITY, conv_input_wrapped, wrap_signed24_kernel  # numba: on first use

    batch, steps = spikes.shape[:2]
    images = spikes.reshape(-1, *node.in_shape)
    stride, padding = (node.stride_h, node.stride_w), (node.padding_h, node.padding_w)
    if np.count_nonzero(images) < EVENT_DENSITY * images.size:
        out_size = (node.out_height, node.out_width)
        return conv_input_wrapped(images, node.weight, node.groups, stride, padding, out_size).reshape(batch, steps, -1)
    summed = F.conv2d(
        torch.from_numpy(images.astype(np.float64)),
        torch.from_numpy(node.weight.astype(np.float64)),
        stride=stride,
        padding=padding,
        groups=node.groups,
    ).numpy()
    return wrap_signed24_kernel(summed.reshape(len(images), -1)).reshape(batch, steps, -1)


@register_fixed_kernel(AxonalDelay)
def axonal_delay_int(node: AxonalDelay, spikes: np.ndarray) -> np.ndarray:
    """Return ``spikes`` ``[B, T, N]`` shifted ``node.steps`` steps later (zeros first), same dtype."""
    shifted = np.zeros_like(spikes)
    if node.steps < spikes.shape[1]:
        shifted[:, node.steps :] = spikes[:, : spikes.shape[1] - node.steps]
    return shifted
