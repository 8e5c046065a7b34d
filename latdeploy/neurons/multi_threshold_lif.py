"""Multi-threshold LIF: a graded spike, the number of thresholds ``k * (vth << 6)`` crossed (``>=``).

Float: :class:`latdeploy.nn.MultiThresholdLIF` and :class:`latdeploy.ir.MultiThresholdLIF`;
integer: :class:`latdeploy.ir.MultiThresholdLIFInt`, run on latdeploy's
``MultiThresholdLIFProcess`` (graded ``s_out``). ``levels`` and ``reset`` (``"zero"`` or
``"subtract"``) travel from the torch module to both nodes.
"""

from __future__ import annotations

from typing import Any

from latdeploy.ir import MultiThresholdLIF, MultiThresholdLIFInt, Node
from latdeploy.neurons.base import Firing, FiringOps, LavaNeuron, NeuronKind
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.nn import neurons
from latdeploy.passes.quantize_neurons import threshold_snapping_quantizer
from latdeploy.sim.kernel_modes import MULTI_SUBTRACT, MULTI_ZERO

PROCESSES = "latdeploy.backends.lava.processes"


def fire(ops: FiringOps, v: Any, theta: Any, state: None, node: Node) -> Firing:
    """Payload ``sum_k (v crosses k theta)`` for ``k = 1..levels``; reset ``"zero"``: ``v <- 0`` where it
    is positive, ``"subtract"``: ``v <- v - payload theta``."""
    crossed = [ops.reached(v, level * theta) for level in range(1, node.levels + 1)]
    payload = sum(crossed[1:], crossed[0])
    after = v * (1 - crossed[0]) if node.reset == "zero" else v - payload * theta
    return Firing(payload=payload, v_pre=v, v=after)


def mode(node: Node) -> tuple[int, int]:
    """The numba kernel's firing rule and the largest payload."""
    return (MULTI_ZERO if node.reset == "zero" else MULTI_SUBTRACT), node.levels


KIND = NeuronKind(
    name="multi_threshold_lif",
    torch_module=neurons.MultiThresholdLIF,
    fields=("levels", "reset"),
    float_node=MultiThresholdLIF,
    int_node=MultiThresholdLIFInt,
    comparison=">=",
    fire=fire,
    quantizer=threshold_snapping_quantizer(MultiThresholdLIFInt),
    lava=LavaNeuron(
        process=f"{PROCESSES}.neurons:MultiThresholdLIFProcess",
        model=f"{PROCESSES}.neuron_models:PyMultiThresholdLIFModelFixed",
        params=lambda node: {"levels": node.levels, "reset": node.reset},
    ),
    mode=mode,
    reset=None,
)

NEURON_KINDS.add(KIND.name, KIND)
