"""The Lava backend's plugin import: the modules that register Lava builders.

Neuron kinds register theirs through :mod:`latdeploy.neurons` (:mod:`.builders`).
"""

from __future__ import annotations

from latdeploy.backends.lava import (  # noqa: F401  (conv, delay, DelayDense, recurrent builders; Xylo refusal)
    conv,
    delay_dense,
    recurrent,
    xylo_refusal,
)
