"""The ``ray`` executor: chunk tasks as Ray tasks on a Ray cluster (``--executor ray``).

With no address a local Ray instance is started (one worker per CPU) and stopped when the
evaluation ends; with ``--ray-address`` (``HOST:PORT`` of ``ray start --head``, or ``auto``) the
tasks go to that cluster, which is left running; a Ray already initialised in this process
(a test's, a notebook's) is used as it is. Ray itself is imported only here and only when an
executor is made (a deferred optional dependency, the ``ray`` extra: ``pip install
'latdeploy[ray]'``).

Ray retries nothing itself (``max_retries=0``): the driver
(:func:`latdeploy.executors.driver.run_chunks`) does, so that every retry is recorded with its
sample range. A task whose worker died comes back as
:class:`~latdeploy.executors.base.TaskLostError`; a task's own
:class:`~latdeploy.errors.BackendError` (Lava failed or timed out) comes back as itself. Jobs and
results travel through Ray's object store (Ray's serialisation of latdeploy's own objects between
latdeploy's own processes; no user file is ever unpickled).
"""

from __future__ import annotations

import functools
import os
from typing import Any

from latdeploy.errors import BackendError, LatdeployError
from latdeploy.executors.base import EXECUTORS, ChunkJob, ChunkResult, ChunkWork, TaskLostError
from latdeploy.executors.chunk_task import evaluate_chunk

MISSING_RAY = "the ray executor needs Ray: pip install 'latdeploy[ray]' (ray 2.60 on Python 3.10)"


def import_ray() -> Any:
    """Return the ``ray`` module.

    Raises:
        LatdeployError: naming the ``ray`` extra, if Ray is not installed.
    """
    try:
        import ray
    except ImportError as error:
        raise LatdeployError(MISSING_RAY) from error
    return ray


@functools.cache
def remote_chunk_task() -> Any:
    """Return :func:`~latdeploy.executors.chunk_task.evaluate_chunk` as a Ray remote function
    (one CPU, no retries by Ray)."""
    ray = import_ray()
    return ray.remote(num_cpus=1, max_retries=0)(evaluate_chunk)


class RayExecutor:
    """Chunk tasks on a Ray cluster: the one at ``address``, the one this process already joined,
    or (None) a local instance started here and stopped by :meth:`close`."""

    name = "ray"

    def __init__(self, address: str | None = None) -> None:
        self._ray = ray = import_ray()
        self._started = False
        if not ray.is_initialized():
            environment = {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}
            try:
                ray.init(
                    address=address,
                    include_dashboard=False,
                    logging_level="ERROR",
                    log_to_driver=False,
                    runtime_env={"env_vars": environment} if environment else None,
                )
            except (ConnectionError, RuntimeError, ValueError) as error:
                where = f"at {address!r}" if address else "locally"
                raise LatdeployError(f"cannot start or reach a Ray cluster {where}: {error}") from error
            self._started = True
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._jobs: dict[int, tuple[ChunkJob, Any]] = {}
        self._pending: dict[Any, int] = {}
        self._tickets = 0

    def submit(self, job: ChunkJob, work: ChunkWork) -> int:
        """Start ``work`` as a Ray task (``job`` is put into the object store once); return its ticket."""
        if id(job) not in self._jobs:
            self._jobs[id(job)] = (job, self._ray.put(job))
        self._tickets += 1
        self._pending[remote_chunk_task().remote(self._jobs[id(job)][1], work)] = self._tickets
        return self._tickets

    def next_done(self) -> tuple[int, ChunkResult | BackendError]:
        """Wait for the first task to end; return its ticket and result, its BackendError, or a
        :class:`TaskLostError` if its worker or its result was lost.

        Raises:
            LatdeployError: a task's own user error (a bad graph), as it was raised on the worker.
        """
        exceptions = self._ray.exceptions
        ready, _ = self._ray.wait(list(self._pending), num_returns=1)
        ticket = self._pending.pop(ready[0])
        try:
            return ticket, self._ray.get(ready[0])
        except exceptions.RayTaskError as error:
            cause = error.cause
            if isinstance(cause, BackendError):
                return ticket, cause
            if isinstance(cause, LatdeployError):
                raise cause from None
            raise
        except (exceptions.RayError, ConnectionError) as error:
            return ticket, TaskLostError(f"Ray task lost ({type(error).__name__}: {str(error).splitlines()[0]})")

    def close(self) -> None:
        """Cancel the tasks still running; stop Ray if this executor started it."""
        for ref in self._pending:
            self._ray.cancel(ref, force=True)
        self._pending.clear()
        self._jobs.clear()
        if self._started:
            self._ray.shutdown()


EXECUTORS.add(RayExecutor.name, RayExecutor)
