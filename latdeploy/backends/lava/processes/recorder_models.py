"""``fixed_pt`` ProcessModels of :mod:`latdeploy.backends.lava.processes.recorders`.

Each keeps its recording in a numpy array (not a Var: nothing is read element by element)
and, in the run's last step, sends the whole array once through its external pipe.
"""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort, PyRefPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from latdeploy.backends.lava.processes.recorders import OutputRecorder, SpikeRecorder


@implements(proc=SpikeRecorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySpikeRecorderModel(PyLoihiProcessModel):
    """Store each step's ``a_in`` payload in column ``time_step - 1``; send the array at the last step."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32)
    recording: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32)

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.steps = int(proc_params["steps"])
        self.data = np.zeros((*proc_params["shape"], self.steps), np.int32)

    def run_spk(self) -> None:
        payload = self.a_in.recv()
        self.data[:, self.time_step - 1] = payload
        if self.time_step == self.steps:
            self.recording.csp_ports[-1].send(self.data)


@implements(proc=OutputRecorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyOutputRecorderModel(PyLoihiProcessModel):
    """Store each step's ``a_in`` payload, and ``u`` and ``v`` read in the post-management phase; send
    all three at the last step."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32)
    u: PyRefPort = LavaPyType(PyRefPort.VEC_DENSE, np.int32)
    v: PyRefPort = LavaPyType(PyRefPort.VEC_DENSE, np.int32)
    recording: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32)

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.steps = int(proc_params["steps"])
        self.data = np.zeros((3, *proc_params["shape"], self.steps), np.int32)

    def run_spk(self) -> None:
        self.data[0, :, self.time_step - 1] = self.a_in.recv()

    def post_guard(self) -> bool:
        return True

    def run_post_mgmt(self) -> None:
        column = self.time_step - 1
        self.data[1, :, column] = self.u.read()
        self.data[2, :, column] = self.v.read()
        if self.time_step == self.steps:
            self.recording.csp_ports[-1].send(self.data)
