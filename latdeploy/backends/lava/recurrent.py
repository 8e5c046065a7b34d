"""Lava builder of :class:`~latdeploy.ir.recurrent.RecurrentDenseInt`: a real Lava ``Dense`` from a
layer's ``s_out`` back to its own ``a_in``.

Lava's ``Dense`` sends at step ``t + 1`` what it received at ``t`` (its ``a_buff``: Lava's own way of
letting recurrent networks run without deadlock), and the neuron's ``a_in`` adds this connection to
the feed-forward one, so the layer receives ``W_rec @ s[t-1]`` at step ``t`` as
:mod:`latdeploy.sim.fixed_recurrent` computes.

Many samples share one run (:mod:`latdeploy.backends.lava.runner`), and the spikes of a sample's last
step would reach the next sample's first step, after the layer's reset, where the fixed-point
simulator (every sample from rest) has nothing. A
:class:`~latdeploy.backends.lava.processes.window_gate.WindowGate` between the layer and the recurrent
``Dense`` therefore passes only the spikes of algorithmic steps ``0 .. T-2`` of each sample (and none
before the layer's first window or in the padding of axonal delays): the loop carries exactly the
spikes the algorithm feeds back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latdeploy.backends.lava.builders import BuildContext, LavaNode, register_lava_builder
from latdeploy.errors import BackendError
from latdeploy.ir.recurrent import RecurrentDenseInt


@register_lava_builder(RecurrentDenseInt)
def build_recurrent_dense(node: RecurrentDenseInt, inputs: list[Any], context: BuildContext) -> LavaNode:
    """Connect ``layer.s_out -> WindowGate -> Dense -> layer.a_in`` for the layer whose out port is ``inputs[0]``.

    Returns:
        A :class:`LavaNode` whose out port is the ``Dense``'s ``a_out`` (already connected; nothing
        else may read it).

    Raises:
        BackendError: if the layer's out port does not belong to a neuron process with an ``a_in``
            port (e.g. a layer gated for an axonal delay), or the context gives no sample length.
    """
    from lava.proc.dense.process import Dense

    from latdeploy.backends.lava.processes.window_gate import WindowGate

    layer = getattr(inputs[0], "process", None)
    if layer is None or not hasattr(layer, "a_in") or getattr(layer, "s_out", None) is not inputs[0]:
        raise BackendError(
            f"node {node.name!r}: the recurrent connection needs its layer {node.inputs[0]!r}'s own s_out and "
            "a_in ports; a recurrent layer that also feeds an axonal delay is not supported on Lava"
        )
    if context.timesteps < 1:
        raise BackendError(f"node {node.name!r}: the build context gives no sample length (timesteps)")
    gate = WindowGate(
        shape=(node.size,),
        lag=context.lag,
        period=context.reset_interval,
        timesteps=context.timesteps - 1,  # the last step's spikes would land in the next sample
        name=f"{node.name}_gate",
    )
    inputs[0].connect(gate.s_in)
    dense = Dense(
        name=node.name,
        weights=node.weight.astype(np.int32),
        weight_exp=node.weight_exp,
        num_weight_bits=node.num_weight_bits,
        num_message_bits=context.message_bits,
    )
    gate.s_out.connect(dense.s_in)
    dense.a_out.connect(layer.a_in)
    return LavaNode(out_port=dense.a_out)
