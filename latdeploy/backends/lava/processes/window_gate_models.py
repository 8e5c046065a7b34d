"""``fixed_pt`` ProcessModel of :class:`~latdeploy.backends.lava.processes.window_gate.WindowGate`."""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from latdeploy.backends.lava.processes.window_gate import WindowGate


@implements(proc=WindowGate, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyWindowGateModel(PyLoihiProcessModel):
    """Receive the payloads and send them on in the same step, zeroed outside the windows."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.lag = int(proc_params["lag"])
        self.period = int(proc_params["period"])
        self.timesteps = int(proc_params["timesteps"])

    def run_spk(self) -> None:
        payload = self.s_in.recv()
        step = self.time_step - 1  # Lava counts steps from 1
        inside = step >= self.lag and (step - self.lag) % self.period < self.timesteps
        self.s_out.send(payload if inside else np.zeros_like(payload))
