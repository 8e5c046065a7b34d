"""CUBA LIF with subtractive (soft) reset: ``v >= vth << 6`` fires, the spike subtracts the threshold.

Float: :class:`latdeploy.nn.LIF` with ``reset="subtract"`` and :class:`latdeploy.ir.SoftResetLIF`;
integer: :class:`latdeploy.ir.SoftResetLIFInt`, run on latdeploy's ``SoftResetLIFProcess``.
"""

from __future__ import annotations

from typing import Any

from latdeploy.ir import Node, SoftResetLIF, SoftResetLIFInt
from latdeploy.neurons.base import Firing, FiringOps, LavaNeuron, NeuronKind
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.nn import neurons
from latdeploy.passes.quantize_neurons import threshold_snapping_quantizer
from latdeploy.sim.kernel_modes import SOFT_RESET

PROCESSES = "latdeploy.backends.lava.processes"


def fire(ops: FiringOps, v: Any, theta: Any, state: None, node: Node) -> Firing:
    """Spike where ``v`` crosses ``theta``; ``v <- v - theta`` there (the remainder stays)."""
    spike = ops.reached(v, theta)
    return Firing(payload=spike, v_pre=v, v=v - spike * theta)


KIND = NeuronKind(
    name="soft_reset_lif",
    torch_module=neurons.LIF,
    module_options={"reset": "subtract"},
    float_node=SoftResetLIF,
    int_node=SoftResetLIFInt,
    comparison=">=",
    fire=fire,
    quantizer=threshold_snapping_quantizer(SoftResetLIFInt),
    lava=LavaNeuron(
        process=f"{PROCESSES}.neurons:SoftResetLIFProcess",
        model=f"{PROCESSES}.neuron_models:PySoftResetLIFModelFixed",
    ),
    mode=lambda node: (SOFT_RESET, 1),
    reset="subtract",
)

NEURON_KINDS.add(KIND.name, KIND)
