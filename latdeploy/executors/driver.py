"""Running chunk tasks on an executor: bounded retries, progress, results in sample order.

:func:`run_chunks` submits every :class:`~latdeploy.executors.base.ChunkWork`, takes results back
in order of completion and keeps each under its ticket, so a chunk is never counted twice; a task
that fails with a :class:`~latdeploy.errors.BackendError` (its worker killed:
:class:`~latdeploy.executors.base.TaskLostError`; Lava crashed; its time limit) is submitted
again, up to ``attempts`` tries in all, and recorded with its sample range. A chunk that fails
every try ends the evaluation with an error that names its sample range and tries, after the
executor has cancelled the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from latdeploy.errors import BackendError
from latdeploy.executors.base import ChunkJob, ChunkResult, ChunkWork, Executor

DEFAULT_ATTEMPTS = 3
"""Tries per chunk task (the first and two retries) before its sample range is reported as failed."""


@dataclass
class ExecutionRecord:
    """What the executor did: its ``name``, the ``chunks`` run, and ``retries``: one entry per chunk
    that needed more than one try (``part``, ``samples`` ``[first, last]``, ``attempts``, ``errors``)."""

    executor: str
    chunks: int = 0
    retries: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the record as JSON-ready data (``{executor, chunks, retries}``)."""
        return {"executor": self.executor, "chunks": self.chunks, "retries": self.retries}


def run_chunks(
    executor: Executor,
    job: ChunkJob,
    works: Sequence[ChunkWork],
    record: ExecutionRecord,
    attempts: int = DEFAULT_ATTEMPTS,
    on_progress: Callable[[str], None] | None = None,
) -> list[ChunkResult]:
    """Run ``works`` of ``job`` on ``executor``; add what happened to ``record``.

    ``on_progress`` is told ``"<done>/<total> chunks, <rate> samples/s"`` after each chunk.

    Returns:
        One :class:`ChunkResult` per work, in the order of ``works``.

    Raises:
        BackendError: naming the sample range and the tries, if a chunk fails ``attempts`` times.
    """
    tickets = {executor.submit(job, work): index for index, work in enumerate(works)}
    tries = [1] * len(works)
    errors: list[list[str]] = [[] for _ in works]
    results: dict[int, ChunkResult] = {}
    started, done_samples = time.perf_counter(), 0
    while len(results) < len(works):
        ticket, outcome = executor.next_done()
        index = tickets.pop(ticket)
        work = works[index]
        if isinstance(outcome, BackendError):
            errors[index].append(f"{type(outcome).__name__}: {outcome}")
            if tries[index] >= attempts:
                raise BackendError(
                    f"{work.label} failed {tries[index]} time(s) on the {executor.name} executor; "
                    f"last error: {errors[index][-1]}"
                ) from outcome
            tries[index] += 1
            tickets[executor.submit(job, work)] = index
            continue
        results[index] = outcome
        done_samples += work.stop - work.start
        if tries[index] > 1:
            record.retries.append(
                {
                    "part": work.part,
                    "samples": [work.start, work.stop - 1],
                    "attempts": tries[index],
                    "errors": errors[index],
                }
            )
        if on_progress is not None:
            rate = done_samples / max(time.perf_counter() - started, 1e-9)
            on_progress(f"{len(results)}/{len(works)} chunks, {rate:.1f} samples/s")
    record.chunks += len(works)
    record.retries.sort(key=lambda entry: (entry["part"], entry["samples"]))
    return [results[index] for index in range(len(works))]
