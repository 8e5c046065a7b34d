"""The simulators' plugin import: every module that registers a float or fixed-point kernel beyond
the neuron kinds' (which register theirs through :mod:`latdeploy.neurons`).

:data:`latdeploy.sim.fixed.FIXED_KERNELS` and :data:`latdeploy.sim.float_sim.FLOAT_KERNELS` import
this module on their first lookup, so that importing :mod:`latdeploy.sim.trace` (as the CLI does)
loads neither numba nor torch.
"""

from __future__ import annotations

from latdeploy.sim import fixed_conv, fixed_delay, float_conv, xylo_fixed  # noqa: F401  (conv, pool, delay, Xylo kernels)
