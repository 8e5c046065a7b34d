"""The simulators' plugin import: every module that registers a float or fixed-point kernel beyond
the neuron kinds' (which register theirs through :mod:`latdeploy.neurons`).

:data:`latdeploy.sim.fixed.FIXED_KERNELS` and :data:`latdeploy.sim.float_sim.FLOAT_KERNELS` import
this module on their first lookup, so that importing :mod:`latdeploy.sim.trace` (as the CLI does)
loads neither numba nor torch.
"""

from __future__ import annotations

from latdeploy.sim import (  # noqa: F401  (conv, pool, delay, recurrent, Xylo kernels)
    fixed_conv,
    fixed_delay,
    fixed_recurrent,
    float_conv,
    float_recurrent,
    xylo_fixed,
)
