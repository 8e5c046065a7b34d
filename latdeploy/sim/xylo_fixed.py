"""The fixed-point kernel of :class:`latdeploy.ir.xylo_nodes.XyloIAFInt` (one Xylo layer).

The same arithmetic as :func:`latdeploy.sim.xylo_core.simulate_xylo_core` (which is tested
against xylosim bit for bit), one layer at a time in algorithmic time: a layer's input spikes of
step ``t`` are its source's spikes of step ``t`` (the backend shifts Xylo's one-step lag away).
"""

from __future__ import annotations

import numpy as np

from latdeploy.hw.arithmetic import XYLO
from latdeploy.ir.xylo_nodes import XyloIAFInt
from latdeploy.sim.fixed import register_fixed_kernel
from latdeploy.sim.trace import LayerTrace
from latdeploy.sim.xylo_core import decay_step, deliver, membrane_step


@register_fixed_kernel(XyloIAFInt)
def xylo_iaf_int(node: XyloIAFInt, spikes: np.ndarray) -> tuple[LayerTrace, dict[str, int]]:
    """Run the Xylo layer ``node`` on spike counts ``[B, T, in]`` from zero state.

    Returns:
        ``(trace, overflow)``: spike counts (uint8), ``v_pre`` (``Vmem`` before the reset),
        ``u`` (``Isyn``) and ``v`` (``Vmem`` after the reset) per step, each ``[B, T, out]``, and
        the counts of (sample, step, neuron) slots where ``Isyn`` or ``Vmem`` sat at a 16-bit limit.
    """
    counts = np.asarray(spikes, np.int64)
    if node.input_lag == 0:
        counts = np.minimum(counts, XYLO.max_input_spikes_per_step)
    batch, steps, _ = counts.shape
    weight = np.asarray(node.weight, np.int64).T << node.weight_shift
    dash_syn, dash_mem = node.dash_syn.astype(np.int64)[None], node.dash_mem.astype(np.int64)[None]
    threshold, bias = node.threshold.astype(np.int64)[None], node.bias.astype(np.int64)[None]
    isyn = np.zeros((batch, node.size), np.int64)
    vmem = np.zeros((batch, node.size), np.int64)
    out = {key: np.empty((batch, steps, node.size), np.int32) for key in ("v_pre", "u", "v")}
    fired = np.empty((batch, steps, node.size), np.uint8)
    at_limit = {"u_saturations": 0, "v_saturations": 0}
    for t in range(steps):
        isyn = deliver(isyn, counts[:, t], weight)
        isyn = isyn - decay_step(isyn, dash_syn)
        vmem = membrane_step(vmem, dash_mem, isyn, bias)
        count = np.where(vmem >= threshold, np.minimum(vmem // threshold, node.max_spikes), 0)
        out["v_pre"][:, t], out["u"][:, t] = vmem, isyn
        at_limit["u_saturations"] += int(np.isin(isyn, (XYLO.v_min, XYLO.v_max)).sum())
        at_limit["v_saturations"] += int(np.isin(vmem, (XYLO.v_min, XYLO.v_max)).sum())
        vmem = vmem - count * threshold
        out["v"][:, t], fired[:, t] = vmem, count
    return LayerTrace(spikes=fired, v_pre=out["v_pre"], u=out["u"], v=out["v"]), at_limit
