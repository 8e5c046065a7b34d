"""A neuron kind that declares no Lava Process is refused by the Lava backend with its reason, and
dropped from every table when it is removed."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from latdeploy.backends.lava.builders import LAVA_BUILDERS, LAVA_REFUSALS, lava_builder
from latdeploy.errors import BackendError
from latdeploy.ir import SoftResetLIFInt
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.passes.quantize import NEURON_QUANTIZERS
from latdeploy.sim.fixed import FIXED_KERNELS
from latdeploy.sim.float_sim import FLOAT_KERNELS

REASON = "its microcode is not written yet"


class NoLavaInt(SoftResetLIFInt):
    """A soft-reset neuron under another name, without a Lava Process."""


def test_a_declared_refusal_names_the_reason_and_removal_clears_every_table():
    soft = NEURON_KINDS.get("soft_reset_lif")
    kind = dataclasses.replace(soft, name="no_lava", float_node=type("NoLava", (), {}), int_node=NoLavaInt, lava=REASON)
    NEURON_KINDS.add(kind.name, kind)
    try:
        node = NoLavaInt("n", (), bias_mant=np.zeros(3, np.int32))
        assert NoLavaInt in FIXED_KERNELS and NoLavaInt not in LAVA_BUILDERS
        with pytest.raises(BackendError, match=f"node 'n': NoLavaInt cannot run on Lava: {REASON}"):
            lava_builder(node)
    finally:
        NEURON_KINDS.remove(kind.name)
    for table in (FIXED_KERNELS, LAVA_REFUSALS, FLOAT_KERNELS, NEURON_QUANTIZERS):
        assert NoLavaInt not in table and kind.float_node not in table
    assert soft.int_node in LAVA_BUILDERS and soft.float_node in NEURON_QUANTIZERS
