"""Lava builders of the extra integer neurons (registered with :mod:`latdeploy.backends.lava.runner`).

``SoftResetLIFInt`` -> ``SoftResetLIFProcess``, ``TTFSInt`` -> ``TTFSProcess``,
``MultiThresholdLIFInt`` -> ``MultiThresholdLIFProcess`` (latdeploy's own processes,
:mod:`latdeploy.backends.lava.processes`), each resetting ``u``, ``v`` (and
``fired``) at the context's phase. A multi-threshold neuron sends graded payloads;
the runner gives the synapse it feeds ``num_message_bits`` accordingly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latdeploy.backends.lava.runner import (
    BuildContext,
    LavaNode,
    build_neuron_process,
    membrane_before_reset,
    register_lava_builder,
)
from latdeploy.ir.neurons_ext import MultiThresholdLIFInt, SoftResetLIFInt, TTFSInt


def ttfs_membrane_before_reset(neuron: TTFSInt, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rebuild a TTFS layer's ``v`` before the reset from per-step ``u`` and ``v`` ``[B, T, N]``.

    As :func:`~latdeploy.backends.lava.runner.membrane_before_reset`, then replaying the
    single-spike rule on it: zero from the step after a neuron's spike (``v >= vth << 6``).
    """
    v_pre = membrane_before_reset(neuron, u, v)
    theta = neuron.vth << 6
    alive = np.ones(v_pre.shape[::2], bool)
    for step in range(v_pre.shape[1]):
        v_pre[:, step] = np.where(alive, v_pre[:, step], 0)
        alive &= v_pre[:, step] < theta
    return v_pre


@register_lava_builder(SoftResetLIFInt)
def build_soft_reset(node: SoftResetLIFInt, inputs: list[Any], context: BuildContext) -> LavaNode:
    """Return latdeploy's ``SoftResetLIFProcess`` fed by ``inputs[0]``."""
    from latdeploy.backends.lava.processes.neurons import SoftResetLIFProcess

    process = build_neuron_process(SoftResetLIFProcess, node, inputs, context)
    return LavaNode(out_port=process.s_out, process=process, v_pre=lambda u, v: membrane_before_reset(node, u, v))


@register_lava_builder(TTFSInt)
def build_ttfs(node: TTFSInt, inputs: list[Any], context: BuildContext) -> LavaNode:
    """Return latdeploy's ``TTFSProcess`` fed by ``inputs[0]``."""
    from latdeploy.backends.lava.processes.neurons import TTFSProcess

    process = build_neuron_process(TTFSProcess, node, inputs, context)
    return LavaNode(out_port=process.s_out, process=process, v_pre=lambda u, v: ttfs_membrane_before_reset(node, u, v))


@register_lava_builder(MultiThresholdLIFInt)
def build_multi_threshold(node: MultiThresholdLIFInt, inputs: list[Any], context: BuildContext) -> LavaNode:
    """Return latdeploy's ``MultiThresholdLIFProcess`` (graded ``s_out``) fed by ``inputs[0]``."""
    from latdeploy.backends.lava.processes.neurons import MultiThresholdLIFProcess

    process = build_neuron_process(
        MultiThresholdLIFProcess, node, inputs, context, levels=node.levels, reset=node.reset
    )
    return LavaNode(out_port=process.s_out, process=process, v_pre=lambda u, v: membrane_before_reset(node, u, v))
