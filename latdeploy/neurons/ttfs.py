"""Time-to-first-spike neuron: at most one spike per sample (``v >= vth << 6``), then ``v`` stays zero.

Float: :class:`latdeploy.nn.TTFSNeuron` and :class:`latdeploy.ir.TTFS`; integer:
:class:`latdeploy.ir.TTFSInt`, run on latdeploy's ``TTFSProcess``. The extra state ``alive`` (1
until the neuron's spike) is cleared with ``u`` and ``v`` at each sample's start; Lava does not
read it back, so ``v`` before the reset rebuilt from Lava's ``u`` and ``v`` replays the rule.
"""

from __future__ import annotations

from typing import Any

from latdeploy.ir import TTFS, Node, TTFSInt
from latdeploy.neurons.base import Firing, FiringOps, LavaNeuron, NeuronKind
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.nn import neurons
from latdeploy.passes.quantize_neurons import threshold_snapping_quantizer
from latdeploy.sim.kernel_modes import TTFS_MODE

PROCESSES = "latdeploy.backends.lava.processes"


def start(ops: FiringOps, like: Any) -> Any:
    """Every neuron starts alive (1)."""
    return ops.ones_like(like)


def fire(ops: FiringOps, v: Any, theta: Any, alive: Any, node: Node) -> Firing:
    """Hold ``v`` at zero once fired; spike where alive and ``v`` crosses ``theta``; ``v <- 0`` and
    ``alive <- 0`` there. An overflow of ``v`` counts only while alive."""
    v = v * alive
    spike = ops.reached(v, theta) * alive
    return Firing(payload=spike, v_pre=v, v=v * (1 - spike), state=alive * (1 - spike), counted=alive)


KIND = NeuronKind(
    name="ttfs",
    torch_module=neurons.TTFSNeuron,
    float_node=TTFS,
    int_node=TTFSInt,
    comparison=">=",
    fire=fire,
    start=start,
    quantizer=threshold_snapping_quantizer(TTFSInt),
    lava=LavaNeuron(process=f"{PROCESSES}.neurons:TTFSProcess", model=f"{PROCESSES}.neuron_models:PyTTFSModelFixed"),
    mode=lambda node: (TTFS_MODE, 1),
    single_spike=True,
    replay_v_pre=True,
)

NEURON_KINDS.add(KIND.name, KIND)
