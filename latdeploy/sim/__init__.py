"""Simulators of the IR: float (equals the torch model) and fixed point (equals Lava).

This module is the package's plugin import: it imports every module that registers a float or
fixed-point kernel (neuron kinds register theirs through :mod:`latdeploy.neurons`).
"""

from __future__ import annotations

from latdeploy.sim import fixed_conv, fixed_delay, float_conv, xylo_fixed  # noqa: F401  (conv, pool, delay, Xylo kernels)
