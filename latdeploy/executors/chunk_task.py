"""One chunk task: a sample range through the float and fixed-point simulators, or through a backend.

This is the function an executor runs, in this process (``local``) or on a worker (``ray``).
"""

from __future__ import annotations

from latdeploy.backends.select import get_backend
from latdeploy.executors.base import HARDWARE_PART, ChunkJob, ChunkResult, ChunkWork
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.sim.float_sim import simulate_float

SIMULATE = {"float": simulate_float, "fixed": simulate_fixed}
"""The simulators a chunk task runs, by name."""


def evaluate_chunk(job: ChunkJob, work: ChunkWork) -> ChunkResult:
    """Run ``work``'s samples through ``job``'s simulators (float on the float graph, fixed point on
    the integer graph) or, for a :data:`~latdeploy.executors.base.HARDWARE_PART` work, through
    ``job``'s backend within ``job.timeout`` seconds.

    Returns:
        The :class:`ChunkResult` of the sample range.

    Raises:
        BackendError: if the backend is missing, fails or times out.
        LatdeployError: for an unknown backend.
    """
    if work.part == HARDWARE_PART:
        run = get_backend(job.backend).run(job.int_graph, work.spikes, timeout=job.timeout)
        return ChunkResult(work.part, work.start, work.stop, {}, run)
    graphs = {"float": job.float_graph, "fixed": job.int_graph}
    traces = {name: SIMULATE[name](graphs[name], work.spikes) for name in job.simulators}
    return ChunkResult(work.part, work.start, work.stop, traces)
