"""Lava's stock LIF: ``v > vth << 6`` fires, the spike resets ``v`` to zero.

Float: :class:`latdeploy.nn.LIF` (``reset="zero"``) and :class:`latdeploy.ir.LIF`; integer:
:class:`latdeploy.ir.LIFInt`, run on Lava's own ``LIFReset`` (``fixed_pt``). The float model
compares ``>=``; the quantizer (:func:`latdeploy.passes.quantize_layers.quantize_layer`) makes the
two tests agree on the integer grid (``vth = ceil(threshold * scale) - 1``).
"""

from __future__ import annotations

from typing import Any

from latdeploy.hw.arithmetic import LOIHI
from latdeploy.ir import LIF, LIFInt, Node
from latdeploy.neurons.base import Firing, FiringOps, LavaNeuron, NeuronKind
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.nn import neurons
from latdeploy.passes.quantize_layers import quantize_layer
from latdeploy.sim.kernel_modes import HARD_RESET


def fire(ops: FiringOps, v: Any, theta: Any, state: None, node: Node) -> Firing:
    """Spike where ``v`` crosses ``theta``; ``v <- 0`` there."""
    spike = ops.reached(v, theta)
    return Firing(payload=spike, v_pre=v, v=v * (1 - spike))


KIND = NeuronKind(
    name="lif",
    torch_module=neurons.LIF,
    module_options={"reset": "zero"},
    float_node=LIF,
    int_node=LIFInt,
    comparison=LOIHI.comparison,  # Lava's LIF: v > theta
    fire=fire,
    quantizer=quantize_layer,
    # the model Lava's own selection picks for LIFReset under fixed_pt (tests/backends/lava/test_recording.py)
    lava=LavaNeuron(process="lava.proc.lif.process:LIFReset", model="lava.proc.lif.models:PyLifResetModelBitAcc"),
    mode=lambda node: (HARD_RESET, 1),
)

NEURON_KINDS.add(KIND.name, KIND)
