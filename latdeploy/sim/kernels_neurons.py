"""Compiled (numba) runs of the extra integer neurons (soft reset, TTFS, multi-threshold).

The same arithmetic as the numpy reference :func:`latdeploy.sim.fixed_neurons.neuron_int`
(and so as latdeploy's Lava processes): each kind is a firing rule (``mode``) of
:func:`latdeploy.sim.kernels.cuba_neuron_kernel`, run in parallel over (sample, block of
neurons) tasks.
"""

from __future__ import annotations

import numpy as np

from latdeploy.ir.neurons_ext import IntNeuron, MultiThresholdLIFInt, SoftResetLIFInt, TTFSInt
from latdeploy.sim.kernels import MULTI_SUBTRACT, MULTI_ZERO, SOFT_RESET, TTFS_MODE, cuba_neuron_kernel
from latdeploy.sim.trace import LayerTrace


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
    spikes, v_pre, u, v, wraps, saturations = cuba_neuron_kernel(
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
