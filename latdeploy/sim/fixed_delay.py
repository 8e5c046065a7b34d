"""Fixed-point kernel of :class:`~latdeploy.ir.netx_nodes.DelayDenseInt` (Lava's ``DelayDense``).

Lava (``lava/proc/dense/models.py``, ``PyDelayDenseModelBitAcc``) sums, per delay
value ``k``, the weights of the synapses with that delay (int64), shifts each sum
by ``weight_exp`` and adds it into an int32 ring buffer ``k`` steps ahead. Int32
addition wraps modulo 2**32, so the buffer equals the int32 wrap of the int64 sum
of the shifted per-delay sums, which is what this kernel computes for all steps
at once, event by event (compiled: :func:`latdeploy.sim.kernels.delay_dense_accumulate`).
Each sample starts from an empty buffer.
"""

from __future__ import annotations

import numpy as np

from latdeploy.ir.netx_nodes import DelayDenseInt
from latdeploy.sim.fixed import lava_dense_weights, register_fixed_kernel


@register_fixed_kernel(DelayDenseInt)
def delay_dense_int(node: DelayDenseInt, spikes: np.ndarray) -> np.ndarray:
    """Return the synaptic input ``a`` ``[B, T, out]`` (int32) for inputs ``[B, T, in]``.

    Inputs may be graded (any integers); contributions delayed past the last step
    are dropped.
    """
    from latdeploy.sim.kernels import delay_dense_accumulate  # numba: on first use

    return delay_dense_accumulate(np.asarray(spikes), lava_dense_weights(node), node.delay, node.weight_exp)
