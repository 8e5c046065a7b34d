"""The numpy reference of every integer neuron kind, bit-identical to its Lava ProcessModel.

The sub-threshold update :func:`cuba_step` is Lava's ``AbstractPyLifModelFixed.subthr_dynamics``
(lava-nc 0.10.0) cast for cast, written once here for numpy: ``u`` and ``v`` int32; the decays
round toward zero (int64 product, ``sign * (|p| >> decay_bits)``); ``a << activation_shift`` in
int32; ``u`` wraps once at ``+-state_limit``; ``v`` is an int32 sum clipped to ``+-v_max``
(:data:`latdeploy.hw.arithmetic.LOIHI`). Then the kind's firing rule
(:class:`latdeploy.neurons.base.NeuronKind`, ``fire``) on :class:`~latdeploy.neurons.base.NumpyOps`.

Time is algorithmic: every sample starts from zero state (the kind's extra state too).

:func:`neuron_int` is the numpy reference; a kind with a numba ``mode`` runs in the simulator as
its compiled twin :func:`latdeploy.sim.kernels_neurons.neuron_int_compiled` (property-tested
equal, ``tests/test_conformance.py``), a kind without one runs :func:`neuron_int` itself.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from latdeploy.hw.arithmetic import LOIHI
from latdeploy.ir.nodes import Node
from latdeploy.neurons.base import NumpyOps
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.sim.trace import LayerTrace


def decay_toward_zero(state: np.ndarray, factor: int) -> np.ndarray:
    """Return ``int32(sign(p) * (|p| >> decay_bits))`` for ``p = state * factor`` in int64 (Lava's decay)."""
    product = state.astype(np.int64) * factor
    return (np.sign(product) * np.right_shift(np.abs(product), LOIHI.decay_bits)).astype(np.int32)


def bias_of(node: Node) -> np.ndarray:
    """Return ``bias_mant << bias_exp`` per neuron (int32), as Lava's ``scale_bias``."""
    return np.left_shift(node.bias_mant.astype(np.int32), np.int32(node.bias_exp))


def cuba_step(
    node: Node, u: np.ndarray, v: np.ndarray, current: np.ndarray, bias: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One step of Lava's fixed-point CUBA update for int32 ``u``, ``v``, ``current`` (``node``'s ``du``, ``dv``).

    Returns:
        ``(u, v, wrapped, saturated)``: the new state and boolean masks of where ``u``
        wrapped and where ``v`` was clipped.
    """
    limit, double = np.int32(LOIHI.state_limit), np.int32(2 * LOIHI.state_limit)
    summed = decay_toward_zero(u, LOIHI.decay_unity - (node.du + 1)) + np.left_shift(
        current.astype(np.int32), np.int32(LOIHI.activation_shift)
    )
    high, low = summed > limit, summed <= -limit
    u = np.where(high, summed - double, np.where(low, summed + double, summed)).astype(np.int32)
    updated = decay_toward_zero(v, LOIHI.decay_unity - node.dv) + u + bias
    v = np.clip(updated, -LOIHI.v_max, LOIHI.v_max).astype(np.int32)
    return u, v, high | low, v != updated


def neuron_int(
    node: Node, current: np.ndarray, feedback: Callable[[np.ndarray], np.ndarray] | None = None
) -> tuple[LayerTrace, dict[str, int]]:
    """Integrate ``current`` ``[B, T, N]`` (int32) from zero state with ``node``'s kind's dynamics.

    ``feedback`` (a recurrent layer, :mod:`latdeploy.sim.fixed_recurrent`) maps the payloads the layer
    sent at the step before (``[B, N]`` int64, zero before step 0) to an int32 current added to the
    step's input with int32 wrap-around, as Lava's input port adds two connections.

    Returns:
        ``(trace, overflow)``: spikes (uint8 payloads: 0/1, or levels ``0..levels``),
        ``v_pre`` (``v`` before the reset), ``u`` and ``v`` per step, each ``[B, T, N]``,
        and the counts of 24-bit wraps of ``u`` and saturations of ``v`` (where the rule
        counts them: for a TTFS neuron, only while it has not fired).

    Raises:
        UnsupportedLayerError: if ``node`` is of no registered neuron kind.
    """
    kind = NEURON_KINDS.kind_of(node)
    ops = NumpyOps(kind.comparison)
    batch, steps, size = current.shape
    u = np.zeros((batch, size), np.int32)
    v = np.zeros((batch, size), np.int32)
    state = kind.start(ops, v)
    bias = bias_of(node)
    theta = np.int32(LOIHI.theta(node.vth))
    out = {key: np.empty((batch, steps, size), np.int32) for key in ("v_pre", "u", "v")}
    spikes = np.empty((batch, steps, size), np.uint8)
    payload = np.zeros((batch, size), np.int64)
    wraps = saturations = 0
    for step in range(steps):
        drive = current[:, step] if feedback is None else current[:, step].astype(np.int32) + feedback(payload)
        u, v, wrapped, saturated = cuba_step(node, u, v, drive, bias)
        wraps += int(wrapped.sum())
        firing = kind.fire(ops, v, theta, state, node)
        counted = saturated if firing.counted is None else saturated & (firing.counted != 0)
        saturations += int(counted.sum())
        state, v = firing.state, firing.v.astype(np.int32)
        if feedback is not None:
            payload = np.asarray(firing.payload, np.int64)
        spikes[:, step] = firing.payload
        out["v_pre"][:, step] = firing.v_pre
        out["u"][:, step] = u
        out["v"][:, step] = v
    trace = LayerTrace(spikes=spikes, v_pre=out["v_pre"], u=out["u"], v=out["v"])
    return trace, {"u_wraps": wraps, "v_saturations": saturations}
