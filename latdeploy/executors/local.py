"""The ``local`` executor: chunk tasks run one after another in this process (the default)."""

from __future__ import annotations

from collections import deque

from latdeploy.errors import BackendError, LatdeployError
from latdeploy.executors.base import EXECUTORS, ChunkJob, ChunkResult, ChunkWork
from latdeploy.executors.chunk_task import evaluate_chunk


class LocalExecutor:
    """Runs each submitted task when :meth:`next_done` asks for one, in submission order."""

    name = "local"
    workers = 1

    def __init__(self, address: str | None = None) -> None:
        if address is not None:
            raise LatdeployError(f"--ray-address {address!r} needs --executor ray")
        self._queue: deque[tuple[int, ChunkJob, ChunkWork]] = deque()
        self._tickets = 0

    def submit(self, job: ChunkJob, work: ChunkWork) -> int:
        """Queue ``work``; return its ticket."""
        self._tickets += 1
        self._queue.append((self._tickets, job, work))
        return self._tickets

    def next_done(self) -> tuple[int, ChunkResult | BackendError]:
        """Run the oldest queued task here; return its ticket and result, or the BackendError it raised."""
        ticket, job, work = self._queue.popleft()
        try:
            return ticket, evaluate_chunk(job, work)
        except BackendError as error:
            return ticket, error

    def close(self) -> None:
        """Drop the tasks not run."""
        self._queue.clear()


EXECUTORS.add(LocalExecutor.name, LocalExecutor)
