"""Fixed-point simulation of a recurrent layer, bit-identical to Lava's two ``Dense`` into one ``a_in``.

The feed-forward current ``a_ff`` ``[B, T, N]`` is computed layer at a time as usual; the layer
itself then steps its synapse and neuron together, since its step ``t`` needs its own spikes of
``t - 1`` (:mod:`latdeploy.ir.recurrent`)::

    a_rec[t] = int32(sum_i W[:, i] s[t-1, i] << weight_exp)     (Lava's Dense, int64 sum; s[-1] = 0)
    a[t]     = int32(a_ff[t] + a_rec[t])                         (Lava's InPort adds its connections)
    u, v, s  = the kind's CUBA step on a[t]                      (24-bit wrap of u, saturation of v)

Lava's ``PyInPortVectorDense.recv`` adds the int32 arrays of all connected ports with numpy
(wrapping modulo ``2**32``), then the neuron shifts the sum left by 6 in int32 and wraps ``u`` at
24 bits, exactly as :func:`latdeploy.sim.fixed_neurons.cuba_step` does for one connection. ``W`` is
clipped and truncated as Lava's own ``Dense`` does for this matrix alone
(:func:`latdeploy.sim.fixed.lava_weights`). Payloads of graded neurons multiply the weights (Lava's
``num_message_bits > 0``). The neuron steps with the numpy rule of its kind
(:func:`latdeploy.sim.fixed_neurons.neuron_int` with the loop as its ``feedback``); every sample
starts from zero state and no spike.
"""

from __future__ import annotations

import numpy as np

from latdeploy.ir.nodes import Node
from latdeploy.ir.recurrent import RecurrentDenseInt
from latdeploy.sim.fixed import RECURRENT_STEPPERS, lava_weights, register_fixed_kernel
from latdeploy.sim.fixed_neurons import neuron_int
from latdeploy.sim.trace import LayerTrace


def shifted_sum(weight: np.ndarray, payload: np.ndarray, weight_exp: int) -> np.ndarray:
    """Return ``int32(W @ payload << weight_exp)`` for ``payload`` ``[..., in]`` (int64 sum, floor shift right
    for a negative exponent, then the int32 wrap of Lava's port), as ``[..., out]``."""
    total = np.asarray(payload, np.int64) @ weight.astype(np.int64).T
    shifted = np.left_shift(total, weight_exp) if weight_exp > 0 else np.right_shift(total, -weight_exp)
    return shifted.astype(np.int32)


@register_fixed_kernel(RecurrentDenseInt)
def recurrent_current(node: RecurrentDenseInt, spikes: np.ndarray) -> np.ndarray:
    """Return the recurrent current ``a_rec`` ``[B, T, N]`` (int32) the layer received at each step from its
    own ``spikes`` ``[B, T, N]`` of the step before (zero at step 0): what energy counting reads."""
    weight = lava_weights(node.weight, node.num_weight_bits)
    previous = np.zeros_like(spikes)
    previous[:, 1:] = spikes[:, :-1]
    return shifted_sum(weight, previous, node.weight_exp)


def recurrent_neuron_int(
    neuron: Node, current: np.ndarray, *, loop: RecurrentDenseInt
) -> tuple[LayerTrace, dict[str, int]]:
    """Run integer ``neuron`` with its recurrent node ``loop`` on the feed-forward ``current`` ``[B, T, N]`` (int32).

    Returns:
        ``(trace, overflow)`` as :func:`latdeploy.sim.fixed_neurons.neuron_int`: spikes, ``v_pre``, ``u``
        and ``v`` per step and the counts of 24-bit wraps of ``u`` and saturations of ``v``.

    Raises:
        UnsupportedLayerError: if ``neuron`` is of no registered neuron kind.
    """
    weight = lava_weights(loop.weight, loop.num_weight_bits)
    return neuron_int(neuron, current, feedback=lambda payload: shifted_sum(weight, payload, loop.weight_exp))


RECURRENT_STEPPERS.add(RecurrentDenseInt, recurrent_neuron_int)
