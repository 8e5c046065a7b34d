"""Quantize a recurrent layer: its recurrent weights share the layer's scale and ``weight_exp``.

A recurrent layer has one input sum: Lava's ``a_in`` adds the feed-forward ``Dense`` and the
recurrent one in the same units (:mod:`latdeploy.ir.recurrent`), so both weight matrices must map
float current to integer current by the same factor ``scale / 2**weight_exp``. The layer is
therefore quantized as one synapse whose weight is ``[W_ff | W_rec]`` (the feed-forward and the
recurrent columns side by side): the layer quantizer of the neuron kind chooses one scale, one
``weight_exp`` and one grid for both, calibrated on the recurrent run
(:func:`latdeploy.passes.quantize.quantize`), and the integer matrix is then split back into the
``DenseInt`` and the ``RecurrentDenseInt``.

Each part then becomes a Lava ``Dense`` of its own, which clips and truncates its weights by its own
sign mode; the split stores each part as that ``Dense`` will hold it
(:func:`latdeploy.sim.fixed.lava_weights`; it differs from the shared grid only where one part is
purely inhibitory and holds the grid's ``-256``, which Lava stores as ``-255``), so the IR says what
runs. Only a dense (``Dense``) feed-forward synapse is supported; any other is refused by name.
"""

from __future__ import annotations

import numpy as np

from latdeploy.errors import UnsupportedLayerError
from latdeploy.ir import Dense, DenseInt, Node, RecurrentDense, RecurrentDenseInt
from latdeploy.sim.fixed import lava_weights


def joint_synapse(synapse: Node, loop: RecurrentDense) -> Dense:
    """Return the float ``Dense`` ``[W_ff | W_rec]`` (named and fed as ``synapse``) that sets the layer's scale.

    Raises:
        UnsupportedLayerError: if ``synapse`` is not a float ``Dense`` or ``loop`` not a float recurrent node.
    """
    if type(synapse) is not Dense or type(loop) is not RecurrentDense:
        raise UnsupportedLayerError(
            f"node {loop.name!r}: a recurrent layer is quantized with a Dense feed-forward synapse only, "
            f"{synapse.name!r} is a {type(synapse).__name__}"
        )
    return Dense(synapse.name, synapse.inputs, weight=np.hstack([synapse.weight, loop.weight]))


def split_synapse(joint: DenseInt, synapse: Dense, loop: RecurrentDense) -> tuple[DenseInt, RecurrentDenseInt]:
    """Return the integer feed-forward and recurrent nodes of the quantized joint synapse ``joint``
    (each part's weights as its own Lava ``Dense`` stores them)."""
    fan_in = synapse.weight.shape[1]
    bits = joint.num_weight_bits
    parts = (joint.weight[:, :fan_in], joint.weight[:, fan_in:])
    feed, back = (lava_weights(part, bits) for part in parts)
    return (
        DenseInt(synapse.name, synapse.inputs, weight=feed, weight_exp=joint.weight_exp, num_weight_bits=bits),
        RecurrentDenseInt(loop.name, loop.inputs, weight=back, weight_exp=joint.weight_exp, num_weight_bits=bits),
    )
