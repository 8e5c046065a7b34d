"""What a simulator or backend returns: per-layer spike trains and output state."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class LayerTrace:
    """One neuron layer over a batch: ``spikes`` ``[B, T, N]`` (uint8) and the
    membrane before reset ``v_pre``; integer runs also keep ``u`` and ``v``
    (after reset) as Lava's state variables hold them at the end of each step."""

    spikes: np.ndarray
    v_pre: np.ndarray
    u: np.ndarray | None = None
    v: np.ndarray | None = None


@dataclass
class Trace:
    """Layer traces by node name, in algorithmic time (step ``t`` of the torch model).

    ``overflow`` counts, per layer, the (sample, step, neuron) slots where ``u``
    wrapped at 24 bits or ``v`` saturated (integer runs only).
    """

    layers: dict[str, LayerTrace]
    overflow: dict[str, dict[str, int]] = field(default_factory=dict)

    def output(self) -> LayerTrace:
        """The last layer's trace (the output layer)."""
        return self.layers[list(self.layers)[-1]]
