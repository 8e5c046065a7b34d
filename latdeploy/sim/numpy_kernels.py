"""The fixed-point simulator's numpy paths for small layers, where loading the compiled kernels costs more
than it saves.

The first call of a compiled kernel in a process costs ~0.5 s (numba's import, its threading layer and
its CPU target's registries, then the cached kernel); a layer of the shipped MLP takes milliseconds in
numpy. A layer of at most :data:`NUMPY_STEPS` time steps and :data:`NUMPY_NEURON_STEPS` neuron updates
(samples x steps x neurons) runs the neuron kinds' numpy reference
(:func:`latdeploy.sim.fixed_neurons.neuron_int`, whose Python loop over the steps costs ~50 µs a step), and a
Dense without delays, as short, whose matrix product is at most :data:`NUMPY_DENSE_MACS` multiply-adds runs
:func:`dense_numpy`; longer or larger ones run the compiled kernels (:mod:`latdeploy.sim.kernels`, imported
then), and so does every layer once they are loaded in the process (their cost is paid then). Both
paths give the same bits (``tests/sim/test_numpy_kernels.py``, ``tests/test_conformance.py``).
"""

from __future__ import annotations

import sys

import numpy as np

from latdeploy.sim.fixed_weights import DenseWeights

NUMPY_STEPS = 16
"""Neuron layers of at most this many time steps (and :data:`NUMPY_NEURON_STEPS` updates) run in numpy."""
NUMPY_NEURON_STEPS = 1 << 21
"""Neuron layers with at most this many neuron updates (samples x steps x neurons) run in numpy."""
NUMPY_DENSE_MACS = 1 << 26
"""Dense layers whose product has at most this many multiply-adds (rows x fan-in x fan-out) run in numpy."""


def compiled_kernels_loaded() -> bool:
    """Return whether this process has loaded the compiled kernels (a larger layer, a convolution, a
    delayed Dense did): from then on they are the faster path for every layer."""
    return "latdeploy.sim.kernels" in sys.modules


def in_numpy(steps: int, work: int, limit: int) -> bool:
    """Return whether a layer of ``steps`` time steps and ``work`` (neuron updates or multiply-adds,
    at most ``limit``: :data:`NUMPY_NEURON_STEPS`, :data:`NUMPY_DENSE_MACS`) runs in numpy: while the
    compiled kernels are not loaded and the layer is small (see the module docstring)."""
    return steps <= NUMPY_STEPS and work <= limit and not compiled_kernels_loaded()


def dense_numpy(spikes: np.ndarray, weights: DenseWeights, weight_exp: int) -> np.ndarray:
    """Lava Dense for every row of ``spikes`` ``[R, in]`` (binary or graded payloads): the float64 product
    with the weight (exact: every sum is an integer below 2**53), shifted by ``weight_exp`` (left, or
    floor right) in int64 and wrapped to int32, as :func:`latdeploy.sim.kernels.dense_accumulate`.

    Returns:
        ``[R, out]`` int32, as Lava's ``Dense`` (``fixed_pt``) sends it.
    """
    accumulated = (np.asarray(spikes, np.float64) @ weights.matrix()).astype(np.int64)
    if weight_exp > 0:
        accumulated = np.left_shift(accumulated, weight_exp)
    else:
        accumulated = np.right_shift(accumulated, -weight_exp)
    return accumulated.astype(np.int32)  # two's complement: wraps modulo 2**32 as Lava's int32 port
