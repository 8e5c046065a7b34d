"""The firing rules of :func:`latdeploy.sim.kernels.cuba_neuron_kernel`, one integer per neuron kind's ``mode``.

Apart from the kernels so that a neuron kind module can name its mode without importing numba (loading a
checkpoint, ``latdeploy inspect`` of one, needs the kinds but no compiled kernel).
"""

from __future__ import annotations

# Lava's LIF (v > theta, reset to 0), then latdeploy's kinds comparing v >= theta: soft reset, TTFS,
# multi-threshold (reset to 0 / subtract)
HARD_RESET, SOFT_RESET, TTFS_MODE, MULTI_ZERO, MULTI_SUBTRACT = 0, 1, 2, 3, 4
