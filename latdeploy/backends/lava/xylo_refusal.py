"""Why a Xylo layer does not run on Lava: the Lava backend's declared refusal of :class:`XyloIAFInt`."""

from __future__ import annotations

from latdeploy.backends.lava.builders import LAVA_REFUSALS
from latdeploy.ir.xylo_nodes import XyloIAFInt

LAVA_REFUSALS.add(
    XyloIAFInt,
    "a Xylo layer (16-bit saturating bit-shift arithmetic, up to 31 spikes a step) is not Loihi's arithmetic; "
    "export the model with --target loihi2-sim and a Loihi profile to quantize it for Lava instead",
)
