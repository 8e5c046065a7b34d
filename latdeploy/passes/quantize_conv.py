"""Quantizers of the convolutional nodes (registered with :mod:`latdeploy.passes.quantize_layers`).

``Conv2d`` and ``Pool2d`` become :class:`~latdeploy.ir.conv.Conv2dInt` (a pool is a
depthwise convolution with equal weights: ``1`` for a sum, ``1 / (kH kW)`` for an
average, scaled like any weight). Lava's ``Conv`` has no weight exponent, so the
scale shrinks instead when the threshold would not fit. ``AxonalDelay`` passes through.
"""

from __future__ import annotations

import numpy as np

from latdeploy.ir.conv import AxonalDelay, Conv2d, Conv2dInt, Pool2d
from latdeploy.passes.quantize_layers import SynapseQuantizer, register_passthrough, register_synapse_quantizer


def _geometry(node: Conv2d | Pool2d) -> dict[str, int]:
    return {
        "in_channels": node.in_channels,
        "in_height": node.in_height,
        "in_width": node.in_width,
        "stride_h": node.stride_h,
        "stride_w": node.stride_w,
        "padding_h": node.padding_h,
        "padding_w": node.padding_w,
    }


def conv_int(node: Conv2d, weight: np.ndarray, weight_exp: int, bits: int) -> Conv2dInt:
    """Return the integer convolution of ``node`` with integer ``weight`` (``weight_exp`` must be 0)."""
    if weight_exp:
        raise ValueError(f"node {node.name!r}: Lava's Conv has no weight exponent")
    return Conv2dInt(node.name, node.inputs, weight=weight, groups=node.groups, num_weight_bits=bits, **_geometry(node))


def pool_int(node: Pool2d, weight: np.ndarray, weight_exp: int, bits: int) -> Conv2dInt:
    """Return ``node`` as a depthwise integer convolution with ``weight`` ``[C, 1, kH, kW]``."""
    if weight_exp:
        raise ValueError(f"node {node.name!r}: Lava's Conv has no weight exponent")
    return Conv2dInt(
        node.name, node.inputs, weight=weight, groups=node.in_channels, num_weight_bits=bits, **_geometry(node)
    )


register_synapse_quantizer(Conv2d, SynapseQuantizer(lambda node: node.weight, conv_int, has_weight_exp=False))
register_synapse_quantizer(
    Pool2d, SynapseQuantizer(lambda node: node.depthwise_weight(), pool_int, has_weight_exp=False)
)
register_passthrough(AxonalDelay)
