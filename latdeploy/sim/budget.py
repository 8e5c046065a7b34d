"""Memory as a resource with a limit: what a simulator run needs, estimated before it runs.

The simulators (:func:`latdeploy.sim.fixed.simulate_fixed`,
:func:`latdeploy.sim.float_sim.simulate_float`) run layer at a time over every sample
and step at once: each node's output ``[B, T, size]`` stays in memory until the run
ends, every neuron layer's trace keeps its spikes and ``v_pre`` (integer runs also ``u``
and ``v``), and the kernels hold wider copies of their inputs and outputs while they run.
:func:`simulation_bytes` adds these up per node from :data:`BYTES_PER_VALUE` (measured
on the shipped models, peak resident memory, with a margin). Samples are independent
(each starts from zero state), so a run over many samples can go in chunks:
:func:`plan_chunks` returns the largest chunk that fits the limit, or refuses a run whose
single sample, or whose results alone, do not fit. The evaluations of ``verify``, ``export``,
``energy`` and ``sweep`` plan their chunks here too (:mod:`latdeploy.executors.evaluate`), a
backend run (``hardware``) included, so that its read-back memory stays bounded. The default limit is
:data:`DEFAULT_FRACTION` of the memory available now (:func:`default_memory_limit`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from latdeploy.errors import ResourceError
from latdeploy.ir import Graph

DEFAULT_FRACTION = 0.5
"""Share of the available memory a run may use unless told otherwise (``--memory-limit``)."""

BYTES_PER_VALUE: dict[str, dict[str, int]] = {
    "fixed": {"input": 2, "neuron": 20, "synapse": 12, "other": 8, "kept": 13},
    "float": {"input": 8, "neuron": 20, "synapse": 16, "other": 8, "kept": 5},
    "hardware": {"input": 12, "neuron": 24, "synapse": 0, "other": 0, "kept": 1},
}
"""Bytes per (sample, step, value) while a simulator runs, by node kind (``input``, ``neuron``,
``synapse``, anything else ``other``), and ``kept``: the bytes per neuron value of the
results (spikes and ``v_pre``; fixed point also ``u`` and ``v``). ``hardware`` is a backend run's
share in this process (Lava's read-back: the int32 input stream and its copy, each layer's
recording read back as int64 and converted, the aligned spikes kept), estimated from those
buffers' types, not measured; Lava's own processes come on top and do not grow with samples."""

INPUT_COPIES = 2
"""One-byte copies of the whole input a run holds (the file's array and its time-major copy)."""


@dataclass(frozen=True)
class MemoryPlan:
    """How a run fits its limit: ``chunk`` samples at a time, ``peak_bytes`` estimated for it."""

    chunk: int
    peak_bytes: int
    limit: int


def simulation_bytes(graph: Graph, samples: int, steps: int, simulator: str) -> int:
    """Return the estimated peak memory of simulating ``graph`` on ``samples`` x ``steps``.

    Raises:
        ResourceError: for a simulator without figures (not ``fixed`` or ``float``).
    """
    figures = _figures(simulator)
    per_step = 0
    for node in graph.nodes:
        per_step += figures.get(node.kind, figures["other"]) * node.size
    return per_step * samples * steps


def result_bytes(graph: Graph, samples: int, steps: int, simulator: str) -> int:
    """Return the memory the results of a run of ``samples`` x ``steps`` keep (every layer's trace).

    Raises:
        ResourceError: for a simulator without figures.
    """
    neurons = sum(node.size for node in graph.neurons())
    return _figures(simulator)["kept"] * neurons * samples * steps


def available_memory() -> int:
    """Return the memory available to new allocations now, in bytes (``MemAvailable`` on Linux)."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def default_memory_limit() -> int:
    """Return :data:`DEFAULT_FRACTION` of :func:`available_memory`."""
    return int(DEFAULT_FRACTION * available_memory())


def plan_chunks(graph: Graph, samples: int, steps: int, simulator: str, limit: int | None = None) -> MemoryPlan:
    """Return the largest number of samples per simulator call that keeps the run within ``limit``
    bytes (None: :func:`default_memory_limit`).

    The input (:data:`INPUT_COPIES` one-byte copies) and the results of all samples stay in
    memory, the results twice while the chunks are joined; each chunk adds its own working memory.

    Raises:
        ResourceError: with the figure and the limit, if the results alone or one sample's
            working memory do not fit.
    """
    limit = default_memory_limit() if limit is None else limit
    kept = 2 * result_bytes(graph, samples, steps, simulator) + INPUT_COPIES * graph.input.size * samples * steps
    one = simulation_bytes(graph, 1, steps, simulator)
    if kept + one > limit:
        raise ResourceError(
            f"input of {samples} sample(s) x {steps} steps: the {simulator} simulator needs about "
            f"{_mib(kept + one)} of memory for {graph.input.size} inputs and "
            f"{sum(n.size for n in graph.neurons())} neurons, more than the limit of {_mib(limit)}; "
            f"give fewer samples or steps, or raise --memory-limit"
        )
    chunk = max(1, min(samples, (limit - kept) // one))
    return MemoryPlan(chunk=chunk, peak_bytes=kept + chunk * one, limit=limit)


def _figures(simulator: str) -> dict[str, int]:
    if simulator not in BYTES_PER_VALUE:
        raise ResourceError(f"no memory figures for simulator {simulator!r}; known: {sorted(BYTES_PER_VALUE)}")
    return BYTES_PER_VALUE[simulator]


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"
