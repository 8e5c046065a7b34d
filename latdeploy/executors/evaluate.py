"""An evaluation in chunks of samples: the simulators and the backend run sample ranges as chunk
tasks on an executor, within a memory limit, and the results join into those of one whole run.

Chunk sizes come from the memory limit (:func:`latdeploy.sim.budget.plan_chunks`: every chunk's
working memory, plus the joined results, within the limit; an input that cannot fit is refused
before anything runs), from ``chunk_samples`` when given, and from the executor's workers (at
least one chunk per worker when there are enough samples). The local executor with the default
limit therefore runs each part as one chunk, as before executors existed.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from latdeploy.backends.base import BackendRun
from latdeploy.errors import LatdeployError
from latdeploy.executors.base import (
    DEFAULT_EXECUTOR,
    EXECUTORS,
    HARDWARE_PART,
    SIMULATORS_PART,
    ChunkJob,
    ChunkWork,
    Executor,
)
from latdeploy.executors.driver import DEFAULT_ATTEMPTS, ExecutionRecord, run_chunks
from latdeploy.executors.join import join_runs, join_traces
from latdeploy.ir import Graph
from latdeploy.sim.budget import plan_chunks
from latdeploy.sim.trace import Trace


@dataclass(frozen=True)
class Execution:
    """How evaluations run: the executor named ``executor`` (at ``address``, its default when None),
    within ``memory_limit`` bytes (None: :func:`latdeploy.sim.budget.default_memory_limit`), in
    chunks of at most ``chunk_samples`` samples (None: as the limit and the workers allow), with
    ``attempts`` tries per chunk; ``on_progress`` is told each part's chunks done and throughput."""

    executor: str = DEFAULT_EXECUTOR
    address: str | None = None
    memory_limit: int | None = None
    chunk_samples: int | None = None
    attempts: int = DEFAULT_ATTEMPTS
    on_progress: Callable[[str], None] | None = field(default=None, compare=False)


@dataclass
class Evaluation:
    """The joined results: each simulator's trace by name and the backend's run (None: not run)."""

    traces: dict[str, Trace]
    hardware: BackendRun | None


class Evaluator:
    """Runs evaluations on one open executor and records what it did (:attr:`record`)."""

    def __init__(self, executor: Executor, execution: Execution) -> None:
        self.executor = executor
        self.execution = execution
        self.record = ExecutionRecord(executor.name)

    def evaluate(
        self,
        int_graph: Graph,
        spikes: np.ndarray,
        float_graph: Graph | None = None,
        simulators: Sequence[str] = ("float", "fixed"),
        backend: str | None = None,
        hardware_samples: int = 0,
        timeout: float | None = None,
    ) -> Evaluation:
        """Run ``spikes`` ``[B, T, n]`` through ``simulators`` (``float`` on ``float_graph``,
        ``fixed`` on ``int_graph``) and its first ``hardware_samples`` through the backend named
        ``backend`` (``timeout`` seconds per chunk), in chunks.

        Returns:
            The :class:`Evaluation`, equal to one run of each part on all its samples.

        Raises:
            ResourceError: with the figure and the limit, if the input cannot fit the memory limit
                (before anything runs).
            BackendError: if a chunk fails every try (naming its sample range), or the backend fails.
        """
        samples, steps = spikes.shape[:2]
        job = ChunkJob(int_graph, float_graph, tuple(simulators), backend, timeout)
        works = []
        if simulators:
            chunk = self._chunk(int_graph, samples, steps, simulators)
            works += [ChunkWork(SIMULATORS_PART, a, b, spikes[a:b]) for a, b in sample_ranges(samples, chunk)]
        if backend is not None and hardware_samples > 0:
            chunk = self._chunk(int_graph, hardware_samples, steps, ["hardware"])
            ranges = sample_ranges(hardware_samples, chunk)
            works += [ChunkWork(HARDWARE_PART, a, b, spikes[a:b]) for a, b in ranges]
        on_progress = self.execution.on_progress
        results = run_chunks(self.executor, job, works, self.record, self.execution.attempts, on_progress)
        simulated = [result for result in results if result.part == SIMULATORS_PART]
        traces = {name: join_traces([result.traces[name] for result in simulated]) for name in simulators}
        ran = [result for result in results if result.part == HARDWARE_PART]
        hardware = None
        if ran:
            runs = [result.hardware for result in ran if result.hardware is not None]
            hardware = join_runs(int_graph, runs, [result.stop - result.start for result in ran])
        return Evaluation(traces, hardware)

    def _chunk(self, graph: Graph, samples: int, steps: int, simulators: Sequence[str]) -> int:
        limit = self.execution.memory_limit
        chunk = min(plan_chunks(graph, samples, steps, name, limit).chunk for name in simulators)
        chunk = min(chunk, math.ceil(samples / self.executor.workers))
        if self.execution.chunk_samples is not None:
            chunk = min(chunk, self.execution.chunk_samples)
        return max(1, chunk)


def sample_ranges(samples: int, chunk: int) -> list[tuple[int, int]]:
    """Return ``[(start, stop), ...]`` covering ``0 .. samples - 1`` in chunks of ``chunk`` (the last shorter)."""
    return [(start, min(start + chunk, samples)) for start in range(0, samples, chunk)]


@contextlib.contextmanager
def open_evaluator(execution: Execution | None = None) -> Iterator[Evaluator]:
    """Open the executor ``execution`` names (None: local, default limits) for the block.

    Raises:
        LatdeployError: for an unknown executor, an address the local executor cannot use, a
            missing Ray (naming the ``ray`` extra) or a Ray cluster that cannot be reached.
    """
    execution = execution or Execution()
    if execution.chunk_samples is not None and execution.chunk_samples < 1:
        raise LatdeployError(f"--chunk-samples {execution.chunk_samples} is not >= 1")
    if execution.attempts < 1:
        raise LatdeployError(f"attempts {execution.attempts} is not >= 1")
    executor = EXECUTORS.get(execution.executor)(execution.address)
    try:
        yield Evaluator(executor, execution)
    finally:
        executor.close()
