"""The executor contract: what runs chunk tasks (a sample range through the simulators or a backend).

Samples are independent (every sample starts from zero state), so an evaluation splits into
chunks of samples, each a :class:`ChunkWork` of one :class:`ChunkJob`, run by
:func:`latdeploy.executors.chunk_task.evaluate_chunk`. An executor starts such tasks
(:meth:`Executor.submit`) and hands back finished ones in order of completion
(:meth:`Executor.next_done`); :func:`latdeploy.executors.driver.run_chunks` retries the ones that
die and merges the results by sample range. The shipped executors register in
:data:`EXECUTORS` from :mod:`latdeploy.executors.plugins` (``local``: this process, ``ray``: a Ray cluster).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from latdeploy.backends.base import BackendRun
from latdeploy.errors import BackendError, LatdeployError
from latdeploy.ir import Graph
from latdeploy.registry import Registry
from latdeploy.sim.trace import Trace

DEFAULT_EXECUTOR = "local"
"""The executor a command uses when none is named (``--executor``)."""

SIMULATORS_PART = "simulators"
HARDWARE_PART = "hardware"
"""The two parts of a chunk task: the float and fixed-point simulators, or the backend's run."""


class TaskLostError(BackendError):
    """A chunk task ended without a result: its worker died, or the executor lost it."""


@dataclass(frozen=True)
class ChunkJob:
    """What every chunk of one evaluation shares: the graphs, which simulators run
    (``simulators``, a subset of ``("float", "fixed")``), the backend named ``backend`` (None: no
    hardware run) and its wall-clock ``timeout`` per chunk (None: none)."""

    int_graph: Graph
    float_graph: Graph | None
    simulators: tuple[str, ...]
    backend: str | None
    timeout: float | None = None


@dataclass(frozen=True)
class ChunkWork:
    """One task: samples ``start .. stop - 1`` (``spikes`` ``[stop - start, T, n]``) through the
    simulators or the backend (``part``: :data:`SIMULATORS_PART` or :data:`HARDWARE_PART`)."""

    part: str
    start: int
    stop: int
    spikes: np.ndarray

    @property
    def label(self) -> str:
        """``"<part> samples a..b"`` (both ends included), for messages and records."""
        return f"{self.part} samples {self.start}..{self.stop - 1}"


@dataclass
class ChunkResult:
    """The result of one :class:`ChunkWork`: the simulators' traces by name, or the backend's run."""

    part: str
    start: int
    stop: int
    traces: dict[str, Trace]
    hardware: BackendRun | None = None


class Executor(Protocol):
    """What :func:`latdeploy.executors.driver.run_chunks` needs of an executor.

    ``name`` is the ``--executor`` value; ``workers`` how many tasks it runs at once (the evaluation
    cuts at least that many chunks when it can).
    """

    name: str
    workers: int

    def submit(self, job: ChunkJob, work: ChunkWork) -> int:
        """Start (or queue) ``work`` of ``job``; return a ticket that :meth:`next_done` names it by."""
        ...

    def next_done(self) -> tuple[int, ChunkResult | BackendError]:
        """Wait for a submitted task to end; return its ticket and its result, or the
        :class:`~latdeploy.errors.BackendError` it failed with (:class:`TaskLostError` when its
        worker died). Other errors (a bad graph, an interrupt) are raised."""
        ...

    def close(self) -> None:
        """Cancel what is still running and release what the executor started."""
        ...


ExecutorFactory = Callable[[str | None], Executor]
"""Makes an executor for an address (``--ray-address``; None: the executor's default)."""

EXECUTORS: Registry[str, ExecutorFactory] = Registry(
    "executor",
    LatdeployError,
    hint="register one in latdeploy.executors.plugins (see docs/executors.md)",
    plugins="latdeploy.executors.plugins",
)
"""The executors by name; :mod:`latdeploy.executors.plugins` registers the shipped ones."""
