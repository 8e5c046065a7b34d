"""Lava builders of the convolutional nodes (registered with :mod:`latdeploy.backends.lava.builders`).

* ``Conv2dInt`` -> ``lava.proc.conv.process.Conv``. Lava's convolution works on
  ``(X, Y, C)`` = ``(W, H, C)`` ports and does a true convolution, so the kernel is
  flipped and transposed to ``(C_out, kW, kH, C_in / groups)``, and the flat
  ``(C*H*W,)`` ports around it are adapted with virtual ports
  (``reshape((C, H, W)).transpose([2, 1, 0])`` in, the inverse out).
* ``AxonalDelay`` -> a relay ``lava.proc.dense.process.DelayDense`` with identity
  weights and delay ``steps - 1``: with its own one-step latency the spikes arrive
  ``steps`` steps later, as the payloads it received (graded ones too: it reads them
  with the context's ``num_message_bits``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latdeploy.backends.lava.builders import BuildContext, LavaNode, register_lava_builder
from latdeploy.ir.conv import AxonalDelay, Conv2dInt


def lava_conv_weight(weight: np.ndarray) -> np.ndarray:
    """Return torch-layout ``[C_out, C_in/g, kH, kW]`` correlation weights as Lava's
    ``(C_out, kW, kH, C_in/g)`` convolution kernel (int32)."""
    return np.ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(0, 3, 2, 1)).astype(np.int32)


@register_lava_builder(Conv2dInt)
def build_conv(node: Conv2dInt, inputs: list[Any], context: BuildContext) -> LavaNode:
    """Return Lava's ``Conv`` between flat ports (see the module docstring)."""
    from lava.proc.conv.process import Conv

    channels, height, width = node.in_shape
    conv = Conv(
        weight=lava_conv_weight(node.weight),
        input_shape=(width, height, channels),
        padding=(node.padding_w, node.padding_h),
        stride=(node.stride_w, node.stride_h),
        groups=node.groups,
        num_weight_bits=node.num_weight_bits,
        num_message_bits=context.message_bits,
        name=node.name,
    )
    inputs[0].reshape((channels, height, width)).transpose([2, 1, 0]).connect(conv.s_in)
    return LavaNode(out_port=conv.a_out.transpose([2, 1, 0]).reshape((node.size,)))


@register_lava_builder(AxonalDelay)
def build_axonal_delay(node: AxonalDelay, inputs: list[Any], context: BuildContext) -> LavaNode:
    """Return an identity ``DelayDense`` relay delaying ``inputs[0]`` by ``node.steps`` steps."""
    from lava.proc.dense.process import DelayDense

    relay = DelayDense(
        weights=np.eye(node.size, dtype=np.int32),
        delays=np.full((node.size, node.size), node.steps - 1, dtype=int),
        num_message_bits=context.message_bits,
        name=node.name,
    )
    inputs[0].connect(relay.s_in)
    return LavaNode(out_port=relay.a_out)
