"""Lava Processes that record a run and hand the whole recording to the host in one message.

Lava's own recorders (``lava.proc.io.sink.RingBuffer`` for spikes, ``Read`` for a Var)
keep their data in a Var, and ``Var.get`` receives it one element per message
(~20 µs each: most of a small network's run). These keep the same data in their
ProcessModel and, at the last step of the run, send it as one array through an
external pipe (Lava's channel from a ProcessModel to its Process in the host, the one
``lava.proc.io.extractor.Extractor`` uses); :meth:`SpikeRecorder.receive` /
:meth:`OutputRecorder.receive` take it. Their ``fixed_pt`` models live in
:mod:`.recorder_models`.

The values are the ones Lava's recorders hold, bit for bit: ``SpikeRecorder`` stores each
step's ``a_in`` payload (int32), ``OutputRecorder`` that and each step's ``u`` and ``v`` after
the step (read in the post-management phase, as ``Read`` does): one process for the output
layer instead of three (every Lava process is an operating-system process stepped in lockstep).
"""

from __future__ import annotations

import time

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort, RefPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from latdeploy.errors import BackendError

ARRIVAL_SECONDS = 10.0
"""How long :meth:`SpikeRecorder.receive` waits for a recording the model has sent: the model sends
it before its last step ends, but the host's side of the pipe learns of it in a thread of its own."""


def _receive(port: OutPort, owner: str) -> np.ndarray:
    """Return the one array the model sent through ``port``'s external pipe (waiting for it up to
    :data:`ARRIVAL_SECONDS`).

    Raises:
        BackendError: if the runtime was not created, or no recording came (the run did not
            reach its last step).
    """
    pipe = getattr(port, "external_pipe_csp_recv_port", None)
    deadline = time.monotonic() + ARRIVAL_SECONDS
    while pipe is not None and not pipe.probe():
        if time.monotonic() > deadline:
            pipe = None
        else:
            time.sleep(0.001)
    if pipe is None:
        raise BackendError(f"{owner} has no recording: the Lava run did not reach its last step")
    return pipe.recv()


class SpikeRecorder(AbstractProcess):
    """Record the payloads arriving at ``a_in`` (``shape=(N,)``) for ``steps`` steps; after the
    run :meth:`receive` returns them ``[N, steps]`` (int32), hardware step ``h`` in column ``h``.

    Args (keyword only): ``shape``, ``steps`` (the run's length), ``name``.
    """

    def __init__(self, *, shape: tuple[int], steps: int, name: str | None = None):
        super().__init__(shape=shape, steps=int(steps), name=name)
        self.a_in = InPort(shape=shape)
        self.recording = OutPort(shape=(*shape, int(steps)))
        self.recording.flag_external_pipe(buffer_size=1)

    def receive(self) -> np.ndarray:
        """Return the recording ``[N, steps]`` (int32).

        Raises:
            BackendError: if the run has not reached its last step.
        """
        return _receive(self.recording, f"the spike recorder {self.name!r}")


class OutputRecorder(AbstractProcess):
    """Record what :class:`SpikeRecorder` records and, in the same process, a neuron process's ``u``
    and ``v`` (``shape=(N,)``) after every one of ``steps`` steps; after the run :meth:`receive`
    returns ``[3, N, steps]`` (int32: payloads, ``u``, ``v``).

    Args (keyword only): ``u`` and ``v`` (the neuron's Vars), ``steps``, ``name``.
    """

    def __init__(self, *, u: Var, v: Var, steps: int, name: str | None = None):
        shape = tuple(u.shape)
        super().__init__(shape=shape, steps=int(steps), name=name)
        self.a_in = InPort(shape=shape)
        self.u = RefPort(shape)
        self.v = RefPort(shape)
        self.u.connect_var(u)
        self.v.connect_var(v)
        self.recording = OutPort(shape=(3, *shape, int(steps)))
        self.recording.flag_external_pipe(buffer_size=1)

    def receive(self) -> np.ndarray:
        """Return the recording ``[3, N, steps]`` (int32: payloads, ``u``, ``v``).

        Raises:
            BackendError: if the run has not reached its last step.
        """
        return _receive(self.recording, f"the output recorder {self.name!r}")
