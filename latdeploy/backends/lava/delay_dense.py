"""Lava builder of :class:`~latdeploy.ir.netx_nodes.DelayDenseInt`: Lava's own ``DelayDense`` process.

The same process lava-dl's netx builds for a dense layer with delays; its
``fixed_pt`` model is what :mod:`latdeploy.sim.fixed_delay` reproduces. Its
ring buffer holds ``max_delay + 1`` steps and is never reset, so the runner's
sample period leaves ``Graph.max_delay()`` empty steps after each sample.
"""

from __future__ import annotations

from typing import Any

from latdeploy.backends.lava.builders import BuildContext, LavaNode, build_dense_process, register_lava_builder
from latdeploy.ir.netx_nodes import DelayDenseInt


@register_lava_builder(DelayDenseInt)
def build_delay_dense(node: DelayDenseInt, inputs: list[Any], context: BuildContext) -> LavaNode:
    """Return Lava's ``DelayDense`` (weights, delays, ``weight_exp``, ``num_weight_bits``, graded inputs'
    ``num_message_bits``) fed by ``inputs[0]``."""
    from lava.proc.dense.process import DelayDense

    return build_dense_process(
        DelayDense,
        node,
        inputs,
        context,
        delays=node.delay.astype(int),  # Lava validates a Python-int dtype
        max_delay=max(node.algorithmic_delay(), 1),
    )
