"""CUBA LIF whose subtractive reset lands one step late, testing ``v > theta`` (snnTorch's ``Leaky``).

snnTorch's default ``Leaky``/``Synaptic`` (``reset_mechanism="subtract"``, ``reset_delay=True``)
compute ``mem[t] = beta mem[t-1] + input[t] - s[t-1] threshold`` and ``s[t] = mem[t] > threshold``:
the threshold is subtracted after the decay, at the step after the spike, which no other kind
does (the soft-reset kind subtracts before the decay). Float: :class:`DelayedResetLIFNeuron` and
:class:`latdeploy.ir.DelayedResetLIF`; integer: :class:`latdeploy.ir.DelayedResetLIFInt`, run on
latdeploy's ``DelayedResetLIFProcess``. The extra state is the previous step's spike; Lava does
not read it back, so ``v`` before the reset rebuilt from Lava's ``u`` and ``v`` replays the rule.
The threshold snaps onto the integer grid (``threshold * scale = vth``), so the integer test and
subtraction are the float ones.
"""

from __future__ import annotations

from typing import Any

import torch

from latdeploy.ir import DelayedResetLIF, DelayedResetLIFInt, Node
from latdeploy.neurons.base import Firing, FiringOps, LavaNeuron, NeuronKind
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.nn.neurons import CubaNeuron
from latdeploy.passes.quantize_neurons import threshold_snapping_quantizer

PROCESS = "latdeploy.backends.lava.processes.delayed_reset"


class DelayedResetLIFNeuron(CubaNeuron):
    """Float torch module of the kind (``forward`` as :class:`latdeploy.nn.neurons.CubaNeuron`), per step::

    v[t] <- v[t] - s[t-1] threshold ;  s[t] = v[t] > threshold   (no reset of v at step t)
    """

    def _start(self, like: torch.Tensor) -> torch.Tensor | None:
        return torch.zeros_like(like)  # the previous step's spikes

    def _fire(self, v: torch.Tensor, lagged: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        assert lagged is not None  # from _start
        v = v - lagged * self.threshold
        s = 1.0 - self._spike(self.threshold - v)  # v > threshold
        return s, v, v, s


def start(ops: FiringOps, like: Any) -> Any:
    """No spike before the first step (0)."""
    return ops.ones_like(like) * 0


def fire(ops: FiringOps, v: Any, theta: Any, lagged: Any, node: Node) -> Firing:
    """``v <- v - theta`` where the neuron spiked last step, then spike where ``v`` crosses ``theta``;
    ``v`` is not reset this step (the spike is the next step's state)."""
    v = v - lagged * theta
    spike = ops.reached(v, theta)
    return Firing(payload=spike, v_pre=v, v=v, state=spike)


KIND = NeuronKind(
    name="delayed_reset_lif",
    torch_module=DelayedResetLIFNeuron,
    float_node=DelayedResetLIF,
    int_node=DelayedResetLIFInt,
    comparison=">",
    fire=fire,
    start=start,
    quantizer=threshold_snapping_quantizer(DelayedResetLIFInt),
    lava=LavaNeuron(process=f"{PROCESS}:DelayedResetLIFProcess", model=f"{PROCESS}:PyDelayedResetLIFModelFixed"),
    reset="subtract",
    replay_v_pre=True,
)

NEURON_KINDS.add(KIND.name, KIND)
