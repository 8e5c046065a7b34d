"""Compiled (numba) kernels of the extra integer neurons (soft reset, TTFS, multi-threshold).

The same arithmetic as the numpy reference :func:`latdeploy.sim.fixed_neurons.neuron_int`
(and so as latdeploy's Lava processes), built from the helpers of
:mod:`latdeploy.sim.kernels` on int64 scalars, in parallel over (sample, block of
neurons) tasks.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from latdeploy.ir.neurons_ext import IntNeuron, MultiThresholdLIFInt, SoftResetLIFInt, TTFSInt
from latdeploy.sim.kernels import cuba_step, neuron_buffers, task_block
from latdeploy.sim.trace import LayerTrace

SOFT_RESET, TTFS_MODE, MULTI_ZERO, MULTI_SUBTRACT = 0, 1, 2, 3


@njit(parallel=True, cache=True)
def latency_neuron_kernel(
    current: np.ndarray, decay_u: int, decay_v: int, theta: int, bias: np.ndarray, mode: int, levels: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Run one extra neuron kind over ``current`` ``[B, T, N]`` (int32) from zero state.

    ``decay_u = 4096 - (du + 1)``, ``decay_v = 4096 - dv``, ``theta = vth << 6``, ``bias`` =
    ``bias_mant << bias_exp``; ``mode`` one of :data:`SOFT_RESET`, :data:`TTFS_MODE`,
    :data:`MULTI_ZERO`, :data:`MULTI_SUBTRACT`.

    Returns:
        ``(payloads, v_pre, u, v, u_wraps, v_saturations)`` as the numpy reference.
    """
    batch, steps, size = current.shape
    spikes, v_pre, u_out, v_out, blocks, wraps, saturations = neuron_buffers(batch, steps, size)
    for task in prange(batch * blocks):
        sample, start, stop = task_block(task, blocks, size)
        u = np.zeros(stop - start, np.int64)
        v = np.zeros(stop - start, np.int64)
        fired = np.zeros(stop - start, np.bool_)
        task_wraps = 0
        task_saturations = 0
        for step in range(steps):
            for k in range(stop - start):
                n = start + k
                new_u, wrapped, new_v, saturated = cuba_step(
                    u[k], v[k], current[sample, step, n], decay_u, decay_v, bias[n]
                )
                task_wraps += wrapped
                payload = 0
                if mode == TTFS_MODE:
                    if fired[k]:
                        new_v = 0
                    else:
                        task_saturations += saturated
                        if new_v >= theta:
                            payload = 1
                    v_pre[sample, step, n] = new_v
                    if payload:
                        new_v = 0
                        fired[k] = True
                else:
                    task_saturations += saturated
                    if new_v >= theta:
                        payload = 1 if mode == SOFT_RESET else min(new_v // theta, levels)
                    v_pre[sample, step, n] = new_v
                    if payload:
                        if mode == MULTI_ZERO:
                            new_v = 0
                        else:
                            new_v -= payload * theta
                spikes[sample, step, n] = payload
                u[k] = new_u
                v[k] = new_v
                u_out[sample, step, n] = new_u
                v_out[sample, step, n] = new_v
        wraps[task] = task_wraps
        saturations[task] = task_saturations
    return spikes, v_pre, u_out, v_out, wraps.sum(), saturations.sum()


def neuron_int_compiled(node: IntNeuron, current: np.ndarray) -> tuple[LayerTrace, dict[str, int]]:
    """Compiled equivalent of :func:`latdeploy.sim.fixed_neurons.neuron_int` (same returns).

    Raises:
        TypeError: if ``node`` is not one of the extra integer neurons.
    """
    if isinstance(node, SoftResetLIFInt):
        mode, levels = SOFT_RESET, 1
    elif isinstance(node, TTFSInt):
        mode, levels = TTFS_MODE, 1
    elif isinstance(node, MultiThresholdLIFInt):
        mode, levels = (MULTI_ZERO if node.reset == "zero" else MULTI_SUBTRACT), node.levels
    else:
        raise TypeError(f"node {node.name!r}: {type(node).__name__} is not an extra integer neuron")
    bias = np.left_shift(node.bias_mant.astype(np.int32), np.int32(node.bias_exp)).astype(np.int64)
    spikes, v_pre, u, v, wraps, saturations = latency_neuron_kernel(
        np.ascontiguousarray(current, dtype=np.int32),
        4096 - (node.du + 1),
        4096 - node.dv,
        node.vth << 6,
        bias,
        mode,
        levels,
    )
    trace = LayerTrace(spikes=spikes, v_pre=v_pre, u=u, v=v)
    return trace, {"u_wraps": int(wraps), "v_saturations": int(saturations)}
