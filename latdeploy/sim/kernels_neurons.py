"""Compiled (numba) runs of the integer neuron kinds that declare a kernel ``mode``.

The same arithmetic as the numpy reference :func:`latdeploy.sim.fixed_neurons.neuron_int`
(and so as the kinds' Lava ProcessModels): each kind is a firing rule (``mode``) of
:func:`latdeploy.sim.kernels.cuba_neuron_kernel`, run in parallel over (sample, block of
neurons) tasks for large layers, on one thread for small ones.
"""

from __future__ import annotations

import numpy as np

from latdeploy.errors import UnsupportedLayerError
from latdeploy.hw.arithmetic import LOIHI
from latdeploy.ir.nodes import Node
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.sim.kernels import cuba_neuron_kernel
from latdeploy.sim.trace import LayerTrace


def neuron_int_compiled(
    node: Node, current: np.ndarray, parallel: bool | None = None
) -> tuple[LayerTrace, dict[str, int]]:
    """Compiled equivalent of :func:`latdeploy.sim.fixed_neurons.neuron_int` (same returns); ``parallel``:
    on all cores, on this thread, or by size (None), as :func:`latdeploy.sim.kernels.cuba_neuron_kernel`.

    Raises:
        UnsupportedLayerError: if ``node`` is of no registered neuron kind, or its kind has no kernel mode.
    """
    kind = NEURON_KINDS.kind_of(node)
    if kind.mode is None:
        raise UnsupportedLayerError(f"node {node.name!r}: neuron kind {kind.name!r} has no compiled kernel mode")
    mode, levels = kind.mode(node)
    bias = np.left_shift(node.bias_mant.astype(np.int32), np.int32(node.bias_exp)).astype(np.int64)
    spikes, v_pre, u, v, wraps, saturations = cuba_neuron_kernel(
        np.ascontiguousarray(current, dtype=np.int32),
        LOIHI.decay_unity - (node.du + 1),
        LOIHI.decay_unity - node.dv,
        LOIHI.theta(node.vth),
        bias,
        mode,
        levels,
        parallel,
    )
    trace = LayerTrace(spikes=spikes, v_pre=v_pre, u=u, v=v)
    return trace, {"u_wraps": int(wraps), "v_saturations": int(saturations)}
