"""Float simulation of a recurrent layer: the neuron's own torch module, stepped with its recurrent input.

Per step ``t`` (:mod:`latdeploy.ir.recurrent`)::

    a[t] = a_ff[t] + W_rec @ s[t-1]          (s[-1] = 0)

then the kind's module integrates ``a[t]`` and fires exactly as its ``forward`` does for one step
(:class:`latdeploy.nn.neurons.CubaNeuron`: ``_integrate``, then ``_fire``), so a layer without
recurrent spikes equals the feed-forward run bit for bit. ``W_rec @ s`` is ``torch.nn.functional.linear``
as in the feed-forward :func:`latdeploy.sim.float_sim.dense_float`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from latdeploy.ir.nodes import Node
from latdeploy.ir.recurrent import RecurrentDense
from latdeploy.sim.float_sim import RECURRENT_STEPPERS, register_float_kernel, torch_neuron


@register_float_kernel(RecurrentDense)
def recurrent_float_current(node: RecurrentDense, spikes: torch.Tensor) -> torch.Tensor:
    """Return the recurrent current ``[T, B, N]`` the layer received at each step from its own ``spikes``
    ``[T, B, N]`` of the step before (zero at step 0)."""
    previous = torch.zeros_like(spikes)
    previous[1:] = spikes[:-1]
    return F.linear(previous, torch.from_numpy(node.weight))


def recurrent_float_neuron(
    neuron: Node, current: torch.Tensor, *, loop: RecurrentDense
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run float ``neuron`` with its recurrent node ``loop`` on the feed-forward ``current`` ``[T, B, N]``.

    Returns:
        ``(spikes, v_pre)``, both ``[T, B, N]`` float32, as :func:`latdeploy.sim.float_sim.float_neuron`.

    Raises:
        UnsupportedLayerError: if ``neuron`` is of no registered neuron kind.
    """
    module = torch_neuron(neuron)
    weight = torch.from_numpy(loop.weight)
    with torch.no_grad():
        u = torch.zeros_like(current[0])
        v = torch.zeros_like(current[0])
        s = torch.zeros_like(current[0])
        state = module._start(current[0])
        spikes, v_pre = [], []
        for step in range(current.shape[0]):
            u, v = module._integrate(u, v, current[step] + F.linear(s, weight))
            s, before_reset, v, state = module._fire(v, state)
            spikes.append(s)
            v_pre.append(before_reset)
    return torch.stack(spikes), torch.stack(v_pre)


RECURRENT_STEPPERS.add(RecurrentDense, recurrent_float_neuron)
