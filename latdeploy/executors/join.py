"""Joining the results of consecutive sample chunks into the result of one run over all of them.

Samples start from zero state in the simulators and in a backend run, so the traces of chunks
``[a, b)``, ``[b, c)``, ... joined along the sample axis equal the trace of one run on ``[a, c)``
bit for bit; overflow counts add up. A backend run of ``n`` samples lasts ``n`` sample periods
(``T`` + the graph's longest axonal delay, :meth:`latdeploy.ir.Graph.max_delay`) plus the steps
that drain its deepest layer; :func:`join_runs` reports the steps of one run over all samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from latdeploy.backends.base import BackendRun
from latdeploy.errors import BackendError
from latdeploy.ir import Graph
from latdeploy.sim.trace import LayerTrace, Trace

TRACE_FIELDS = ("spikes", "v_pre", "u", "v")


def join_traces(parts: Sequence[Trace]) -> Trace:
    """Return the traces of consecutive sample chunks as one trace (sample axis joined, overflow added).

    A field that is empty or missing in a chunk (a backend's ``v_pre`` of hidden layers) stays as
    the first chunk has it.
    """
    if len(parts) == 1:
        return parts[0]
    layers = {}
    for name, first in parts[0].layers.items():
        fields = {}
        for field_name in TRACE_FIELDS:
            value = getattr(first, field_name)
            if value is None or value.ndim < 3:
                fields[field_name] = value
            else:
                fields[field_name] = np.concatenate([getattr(part.layers[name], field_name) for part in parts])
        layers[name] = LayerTrace(**fields)
    overflow: dict[str, dict[str, int]] = {}
    for part in parts:
        for name, counts in part.overflow.items():
            for key, count in counts.items():
                overflow.setdefault(name, {}).setdefault(key, 0)
                overflow[name][key] += count
    return Trace(layers=layers, overflow=overflow)


def join_runs(graph: Graph, parts: Sequence[BackendRun], samples: Sequence[int]) -> BackendRun:
    """Return the backend runs of consecutive chunks (of ``samples[i]`` samples each) as one run.

    The trace is joined (:func:`join_traces`); ``seconds``, ``run_seconds`` and ``timed_steps``
    add up (None if any chunk lacks them); ``hardware_steps`` is that of one run over all samples;
    ``extras`` (raw recordings in hardware time) are kept only for a single chunk.

    Raises:
        BackendError: if the chunks' step counts do not follow one schedule (a backend that does
            not run samples back to back one period apart), rather than report a wrong count.
    """
    if len(parts) == 1:
        return parts[0]
    period = graph.timesteps + graph.max_delay()
    drains = {run.hardware_steps - count * period for run, count in zip(parts, samples, strict=True)}
    if len(drains) != 1:
        raise BackendError(f"chunked backend runs do not share one schedule (steps beyond the samples: {drains})")
    run_seconds = [run.run_seconds for run in parts]
    timed = [run.timed_steps for run in parts]
    return BackendRun(
        trace=join_traces([run.trace for run in parts]),
        seconds=sum(run.seconds for run in parts),
        hardware_steps=sum(samples) * period + drains.pop(),
        run_seconds=None if None in run_seconds else sum(run_seconds),  # type: ignore[arg-type]
        timed_steps=None if None in timed else sum(timed),  # type: ignore[arg-type]
    )
