"""Neuron processes that record their own run and hand it to the host in one message.

A recorded neuron is the kind's own Lava Process and ProcessModel, subclassed
(:func:`recorded_process`, :func:`recorded_model`): the model runs the parent's ``run_spk``
unchanged and then stores, in a numpy array of its own, the payload that step sent through
``s_out`` (the very array handed to the port's ``send``) and, with ``record_state``, the ``u`` and
``v`` the step left. At the run's last step it sends the whole array once through an external
pipe (Lava's channel from a ProcessModel to its Process in the host, the one
``lava.proc.io.extractor.Extractor`` uses); :meth:`RecordedProcess.receive` takes it.

The values are those Lava's own recorders hold, bit for bit (``tests/backends/lava/test_recording.py``
runs both on every neuron kind): a ``RingBuffer`` sink receives the payload ``s_out`` sent, and a
``Read`` of ``u``/``v`` reads them in the management phase after the spiking phase, which
changes neither. Recording inside the neuron adds no process: a separate recorder would be one more
operating-system process stepped in lockstep (a synchronisation round every step), and reading
``u``/``v`` through RefPorts needs a management phase every step, which together made Lava's
steps about 2× slower on the shipped MLP.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import numpy as np
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import OutPort

from latdeploy.errors import BackendError

ARRIVAL_SECONDS = 10.0
"""How long :meth:`RecordedProcess.receive` waits for a recording the model has sent: the model sends
it before its last step ends, but the host's side of the pipe learns of it in a thread of its own."""


def record_rows(record_state: bool) -> int:
    """Return the rows of a recording: payloads only, or payloads, ``u`` and ``v``."""
    return 3 if record_state else 1


class RecordedProcess:
    """Mixin of a recorded neuron Process (first base of the classes :func:`recorded_process` makes).

    Keyword arguments beyond the neuron's own: ``record_steps`` (the run's length) and
    ``record_state`` (also record ``u`` and ``v``).
    """

    def __init__(self, *, record_steps: int, record_state: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[call-arg]
        size = int(np.prod(self.proc_params["shape"]))  # type: ignore[attr-defined]
        self.proc_params["record_steps"] = int(record_steps)  # type: ignore[attr-defined]
        self.proc_params["record_state"] = bool(record_state)  # type: ignore[attr-defined]
        self.recording = OutPort(shape=(record_rows(record_state), size, int(record_steps)))
        self.recording.flag_external_pipe(buffer_size=1)

    def receive(self) -> np.ndarray:
        """Return the recording ``[rows, N, steps]`` (int32; rows: payloads, then ``u`` and ``v``
        with ``record_state``), hardware step ``h`` in column ``h``.

        Raises:
            BackendError: if the runtime was not created, or no recording came (the run did not
                reach its last step).
        """
        pipe = getattr(self.recording, "external_pipe_csp_recv_port", None)
        deadline = time.monotonic() + ARRIVAL_SECONDS
        while pipe is not None and not pipe.probe():
            if time.monotonic() > deadline:
                pipe = None
            else:
                time.sleep(0.001)
        if pipe is None:
            name = getattr(self, "name", type(self).__name__)
            raise BackendError(
                f"the neuron process {name!r} has no recording: the Lava run did not reach its last step"
            )
        return pipe.recv()


class RecordedModel:
    """Mixin of a recorded neuron ProcessModel (first base of the classes :func:`recorded_model` makes):
    the parent's ``run_spk``, then the step's payload (and ``u``, ``v``) stored; sent at the last step."""

    recording: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32)

    def __init__(self, proc_params: Any) -> None:
        super().__init__(proc_params)  # type: ignore[call-arg]
        self._record_steps = int(proc_params["record_steps"])
        self._record_state = bool(proc_params["record_state"])
        size = int(np.prod(proc_params["shape"]))
        self._record = np.zeros((record_rows(self._record_state), size, self._record_steps), np.int32)
        self._sent: np.ndarray | None = None
        self._watching = False

    def _watch_sends(self) -> None:
        """Keep a reference to every array ``s_out.send`` is given (the port is set after ``__init__``)."""
        port = self.s_out  # type: ignore[attr-defined]
        send = port.send

        def sending(data: np.ndarray) -> None:
            self._sent = data
            send(data)

        port.send = sending
        self._watching = True

    def run_spk(self) -> None:
        if not self._watching:
            self._watch_sends()
        self._sent = None
        super().run_spk()  # type: ignore[misc]
        column = self.time_step - 1  # type: ignore[attr-defined]
        if self._sent is None:
            raise BackendError(f"{type(self).__name__} sent nothing through s_out at step {column + 1}")
        self._record[0, :, column] = np.asarray(self._sent).reshape(-1)
        if self._record_state:
            self._record[1, :, column] = np.asarray(self.u).reshape(-1)  # type: ignore[attr-defined]
            self._record[2, :, column] = np.asarray(self.v).reshape(-1)  # type: ignore[attr-defined]
        if column + 1 == self._record_steps:
            self.recording.csp_ports[-1].send(self._record)


def _published(cls: type) -> type:
    """Give ``cls`` a name of its own in this module and bind it there, so that Lava's own search
    (which looks for a Process's models in the Process's module) finds the recorded models; returns ``cls``."""
    name, number = cls.__name__, 1
    while name in globals():
        number += 1
        name = f"{cls.__name__}_{number}"
    cls.__name__ = cls.__qualname__ = name
    globals()[name] = cls
    return cls


@functools.cache
def recorded_process(process_type: type) -> type:
    """Return the recorded subclass of the neuron Process class ``process_type`` (one per class)."""
    return _published(
        type(
            f"Recorded{process_type.__name__}",
            (RecordedProcess, process_type),
            {"__module__": __name__, "__doc__": f"{process_type.__name__} recording its payloads (and u, v)."},
        )
    )


@functools.cache
def recorded_model(model_type: type, process_type: type) -> type:
    """Return the recorded subclass of ``model_type`` (the ProcessModel of ``process_type``), implementing
    :func:`recorded_process` of ``process_type`` (set directly: Lava's ``implements`` decorator refuses
    to re-bind a subclass of a model that implements another Process)."""
    return _published(
        type(
            f"Recorded{model_type.__name__}",
            (RecordedModel, model_type),
            {
                "__module__": __name__,
                "__doc__": f"{model_type.__name__} recording its payloads (and u, v).",
                "implements_process": recorded_process(process_type),
            },
        )
    )
