"""The Lava backend's plugin import: the modules that register Lava builders.

Neuron kinds register theirs through :mod:`latdeploy.neurons` (:mod:`.builders`).
"""

from __future__ import annotations

from latdeploy.backends.lava import conv, delay_dense  # noqa: F401  (register conv, delay and DelayDense builders)
