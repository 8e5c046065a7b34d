"""Lava Process and ``fixed_pt`` ProcessModel of the LIF whose soft reset lands one step late.

The neuron is :class:`latdeploy.ir.DelayedResetLIFInt`: Lava's CUBA update, then ``v -= vth << 6``
where the neuron spiked on the previous step, then a spike where ``v > vth << 6``. The previous
spike is the extra state ``lagged`` (0/1 per neuron), cleared with ``u`` and ``v`` at each
sample's start. Imports lava-nc (deferred, see ``docs/layout.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from latdeploy.backends.lava.processes.neuron_models import AbstractLatencyNeuronModel
from latdeploy.backends.lava.processes.neurons import LatencyNeuronProcess


class DelayedResetLIFProcess(LatencyNeuronProcess):
    """CUBA LIF: ``v -= vth << 6`` one step after a spike, spike where ``v > vth << 6``; the extra
    state ``lagged`` (the previous step's spikes) is cleared with ``u`` and ``v``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lagged = Var(shape=kwargs["shape"], init=0)


@implements(proc=DelayedResetLIFProcess, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyDelayedResetLIFModelFixed(AbstractLatencyNeuronModel):
    """Subtract ``theta`` where the neuron spiked last step; spike where ``v > theta``."""

    lagged: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)

    def clear_state(self) -> None:
        """Clear ``u``, ``v`` and ``lagged``."""
        super().clear_state()
        self.lagged *= 0

    def fire(self) -> np.ndarray:
        """Return this step's spikes (int32) after applying the previous step's reset."""
        self.v[:] = self.v - self.lagged * self.theta
        spiked = (self.v > self.theta).astype(np.int32)
        self.lagged[:] = spiked
        return spiked
