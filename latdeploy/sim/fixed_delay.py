"""Fixed-point kernel of :class:`~latdeploy.ir.netx_nodes.DelayDenseInt` (Lava's ``DelayDense``).

Lava (``lava/proc/dense/models.py``, ``PyDelayDenseModelBitAcc``) sums, per delay
value ``k``, the weights of the synapses with that delay (int64), shifts each sum
by ``weight_exp`` and adds it into an int32 ring buffer ``k`` steps ahead. Int32
addition wraps modulo 2**32, so the buffer equals the int32 wrap of the int64 sum
of the shifted per-delay sums, which is what this kernel computes for all steps
at once. Each sample starts from an empty buffer.
"""

from __future__ import annotations

import numpy as np

from latdeploy.ir.netx_nodes import DelayDenseInt
from latdeploy.sim.fixed import KERNELS, lava_weights


def delay_dense_int(node: DelayDenseInt, spikes: np.ndarray) -> np.ndarray:
    """Return the synaptic input ``a`` ``[B, T, out]`` (int32) for inputs ``[B, T, in]``.

    Inputs may be graded (any integers); contributions delayed past the last step
    are dropped.
    """
    weight = lava_weights(node.weight, node.num_weight_bits).astype(np.float64)
    batch, steps, fan_in = spikes.shape
    flat = spikes.reshape(-1, fan_in).astype(np.float64)
    total = np.zeros((batch, steps, node.size), np.int64)
    for delay in np.unique(node.delay):
        part = flat @ np.where(node.delay == delay, weight, 0.0).T
        part = part.astype(np.int64).reshape(batch, steps, -1)
        if node.weight_exp > 0:
            part = np.left_shift(part, node.weight_exp)
        else:
            part = np.right_shift(part, -node.weight_exp)
        if delay < steps:
            total[:, delay:] += part[:, : steps - delay]
    return total.astype(np.int32)


KERNELS[DelayDenseInt] = delay_dense_int
