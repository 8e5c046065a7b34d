"""Fixed-point kernels of the extra integer neurons, bit-identical to latdeploy's Lava processes.

The sub-threshold update is Lava's ``AbstractPyLifModelFixed.subthr_dynamics``
(lava-nc 0.10.0) cast for cast: ``u`` and ``v`` int32; the decays round toward
zero (int64 product, ``sign * (|p| >> 12)``); ``a << 6`` in int32; ``u`` wraps once
at +-2**23; ``v`` is an int32 sum clipped to +-(2**23 - 1). Then each kind's
threshold test (greater-or-equal, ``theta = vth << 6``) and reset, exactly as
:mod:`latdeploy.backends.lava.processes.models` does them.

Time is algorithmic: every sample starts from zero state (``fired`` cleared too).

:func:`neuron_int` is the numpy reference; the simulator's registered kernel is its
compiled twin :func:`latdeploy.sim.kernels_neurons.neuron_int_compiled` (property-tested
equal), registered here with :func:`latdeploy.sim.fixed.register_fixed_kernel`.
"""

from __future__ import annotations

import numpy as np

from latdeploy.ir.neurons_ext import IntNeuron, MultiThresholdLIFInt, SoftResetLIFInt, TTFSInt
from latdeploy.sim.fixed import register_fixed_kernel
from latdeploy.sim.kernels_neurons import neuron_int_compiled
from latdeploy.sim.trace import LayerTrace

STATE_LIMIT = 1 << 23  # Lava's max_uv_val
DECAY_SHIFT = 12
ACTIVATION_SHIFT = 6
THRESHOLD_SHIFT = 6


def decay_toward_zero(state: np.ndarray, factor: int) -> np.ndarray:
    """Return ``int32(sign(p) * (|p| >> 12))`` for ``p = state * factor`` in int64 (Lava's decay)."""
    product = state.astype(np.int64) * factor
    return (np.sign(product) * np.right_shift(np.abs(product), DECAY_SHIFT)).astype(np.int32)


def cuba_step(
    node: IntNeuron, u: np.ndarray, v: np.ndarray, current: np.ndarray, bias: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One step of Lava's fixed-point CUBA update for int32 ``u``, ``v``, ``current``.

    Returns:
        ``(u, v, wrapped, saturated)``: the new state and boolean masks of where ``u``
        wrapped at 24 bits and where ``v`` was clipped.
    """
    limit, double = np.int32(STATE_LIMIT), np.int32(2 * STATE_LIMIT)
    summed = decay_toward_zero(u, (1 << DECAY_SHIFT) - (node.du + 1)) + np.left_shift(
        current.astype(np.int32), np.int32(ACTIVATION_SHIFT)
    )
    high, low = summed > limit, summed <= -limit
    u = np.where(high, summed - double, np.where(low, summed + double, summed)).astype(np.int32)
    updated = decay_toward_zero(v, (1 << DECAY_SHIFT) - node.dv) + u + bias
    v = np.clip(updated, -limit + 1, limit - 1).astype(np.int32)
    return u, v, high | low, v != updated


def neuron_int(node: IntNeuron, current: np.ndarray) -> tuple[LayerTrace, dict[str, int]]:
    """Integrate ``current`` ``[B, T, N]`` (int32) from zero state with ``node``'s dynamics.

    Returns:
        ``(trace, overflow)``: spikes (uint8 payloads: 0/1, or levels ``0..levels``),
        ``v_pre`` (``v`` before the reset), ``u`` and ``v`` per step, each ``[B, T, N]``,
        and the counts of 24-bit wraps of ``u`` and saturations of ``v`` (for a TTFS
        neuron, only while it has not fired).

    Raises:
        TypeError: if ``node`` is not one of the extra integer neurons.
    """
    if not isinstance(node, (SoftResetLIFInt, TTFSInt, MultiThresholdLIFInt)):
        raise TypeError(f"node {node.name!r}: {type(node).__name__} is not an extra integer neuron")
    batch, steps, size = current.shape
    u = np.zeros((batch, size), np.int32)
    v = np.zeros((batch, size), np.int32)
    fired = np.zeros((batch, size), bool)
    bias = np.left_shift(node.bias_mant.astype(np.int32), np.int32(node.bias_exp))
    theta = np.int32(node.vth << THRESHOLD_SHIFT)
    out = {key: np.empty((batch, steps, size), np.int32) for key in ("v_pre", "u", "v")}
    spikes = np.empty((batch, steps, size), np.uint8)
    wraps = saturations = 0
    for step in range(steps):
        u, v, wrapped, saturated = cuba_step(node, u, v, current[:, step], bias)
        wraps += int(wrapped.sum())
        if isinstance(node, TTFSInt):
            saturations += int((saturated & ~fired).sum())
            v = np.where(fired, np.int32(0), v)
            payload = (v >= theta) & ~fired
            out["v_pre"][:, step] = v
            v = np.where(payload, np.int32(0), v)
            fired |= payload
        elif isinstance(node, SoftResetLIFInt):
            saturations += int(saturated.sum())
            payload = v >= theta
            out["v_pre"][:, step] = v
            v = np.where(payload, v - theta, v).astype(np.int32)
        else:
            saturations += int(saturated.sum())
            payload = np.where(v >= theta, np.minimum(v // theta, np.int32(node.levels)), 0).astype(np.int32)
            out["v_pre"][:, step] = v
            if node.reset == "zero":
                v = np.where(payload > 0, np.int32(0), v)
            else:
                v = (v - payload * theta).astype(np.int32)
        spikes[:, step] = payload
        out["u"][:, step] = u
        out["v"][:, step] = v
    trace = LayerTrace(spikes=spikes, v_pre=out["v_pre"], u=out["u"], v=out["v"])
    return trace, {"u_wraps": wraps, "v_saturations": saturations}


for _node_type in (SoftResetLIFInt, TTFSInt, MultiThresholdLIFInt):
    register_fixed_kernel(_node_type)(neuron_int_compiled)
