"""``fixed_pt`` ProcessModels of latdeploy's neuron Processes, as a Loihi 2 microcode neuron computes them.

Each model reuses Lava's own bit-accurate CUBA arithmetic
(``lava.proc.lif.models.AbstractPyLifModelFixed``: int32 state holding 24 bits,
decays rounding toward zero, ``u`` wrapping, ``v`` saturating) and changes only the
threshold test (greater-or-equal, ``theta = vth << 6``) and the reset; the
per-sample reset of ``u``, ``v`` (and ``fired``) is ``LIFReset``'s.
"""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.lif.models import AbstractPyLifModelFixed

from latdeploy.backends.lava.processes.neurons import (
    MultiThresholdLIFProcess,
    SoftResetLIFProcess,
    TTFSProcess,
)
from latdeploy.hw.arithmetic import LOIHI


class AbstractLatencyNeuronModel(AbstractPyLifModelFixed):
    """Shared run loop: per-sample reset, CUBA update, :meth:`fire` (payloads), send."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=LOIHI.state_bits)
    vth: int = LavaPyType(int, np.int32, precision=LOIHI.threshold_mantissa_bits)

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.reset_interval = int(proc_params["reset_interval"])
        self.reset_offset = int(proc_params["reset_offset"]) % self.reset_interval
        self.theta = 0

    def scale_threshold(self) -> None:
        """``theta = vth << 6``, as Loihi MSB-aligns the threshold."""
        self.theta = int(np.left_shift(np.int32(self.vth), self.vth_shift))
        self.isthrscaled = True

    def clear_state(self) -> None:
        """Per-sample reset of the neuron's state."""
        self.u *= 0
        self.v *= 0

    def fire(self) -> np.ndarray:
        """Return the int32 payloads of this step and apply the reset to ``v``."""
        raise NotImplementedError

    def run_spk(self) -> None:
        """One time step: receive, maybe clear state, integrate, fire, send."""
        a_in_data = self.a_in.recv()
        if (self.time_step % self.reset_interval) == self.reset_offset:
            self.clear_state()
        self.scale_bias()
        if not self.isthrscaled:
            self.scale_threshold()
        self.subthr_dynamics(activation_in=a_in_data)
        self.s_out.send(self.fire())


@implements(proc=SoftResetLIFProcess, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySoftResetLIFModelFixed(AbstractLatencyNeuronModel):
    """Spike where ``v >= theta``; subtract ``theta`` there."""

    def fire(self) -> np.ndarray:
        spiked = self.v >= self.theta
        self.v[spiked] -= self.theta
        return spiked.astype(np.int32)


@implements(proc=TTFSProcess, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyTTFSModelFixed(AbstractLatencyNeuronModel):
    """Hold ``v`` at 0 once fired; spike where ``v >= theta`` and not fired; set ``fired``."""

    fired: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)

    def clear_state(self) -> None:
        super().clear_state()
        self.fired *= 0

    def fire(self) -> np.ndarray:
        self.v[self.fired != 0] = 0
        spiked = (self.v >= self.theta) & (self.fired == 0)
        self.v[spiked] = 0
        self.fired[spiked] = 1
        return spiked.astype(np.int32)


@implements(proc=MultiThresholdLIFProcess, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyMultiThresholdLIFModelFixed(AbstractLatencyNeuronModel):
    """Graded payload ``min(levels, v // theta)`` where ``v >= theta``; reset to zero or subtract."""

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.levels = int(proc_params["levels"])
        self.subtract = proc_params["reset"] == "subtract"

    def fire(self) -> np.ndarray:
        payload = np.where(self.v >= self.theta, np.minimum(self.v // self.theta, self.levels), 0).astype(np.int32)
        if self.subtract:
            self.v[:] = self.v - payload * self.theta
        else:
            self.v[payload > 0] = 0
        return payload
