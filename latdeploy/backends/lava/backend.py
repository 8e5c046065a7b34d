"""The ``lava`` backend (target ``loihi2-sim``): :func:`latdeploy.backends.lava.run_lava` behind
:class:`latdeploy.backends.base.Backend`.

Lava itself is imported only when :meth:`LavaBackend.run` builds the network.

Every Lava process runs in its own OS process (about 0.5 GB each): a graph that would
need more than :data:`MAX_PROCESSES` (:func:`process_count`) is refused before Lava
starts.
"""

from __future__ import annotations

import numpy as np

from latdeploy.backends import lava
from latdeploy.backends.base import BACKENDS, BackendRun
from latdeploy.errors import BackendError
from latdeploy.ir import Graph, SpikeInput

MAX_PROCESSES = 64
"""The most Lava processes (each one OS process) one run may start."""
OUTPUT_READERS = 2
"""Processes that read the output layer's ``u`` and ``v`` each step."""


def process_count(graph: Graph) -> int:
    """Return how many Lava processes :func:`latdeploy.backends.lava.run_lava` builds for ``graph``:
    the spike source, at least one per node, a sink per neuron layer and the output readers."""
    nodes = sum(1 for node in graph.nodes if not isinstance(node, SpikeInput))
    return 1 + nodes + len(graph.neurons()) + OUTPUT_READERS


def check_process_count(graph: Graph) -> None:
    """Refuse a graph that needs more than :data:`MAX_PROCESSES` Lava processes.

    Raises:
        BackendError: naming the count, the graph's layer count and the limit.
    """
    count = process_count(graph)
    if count > MAX_PROCESSES:
        raise BackendError(
            f"the graph's {len(graph.neurons())} neuron layers need {count} Lava processes (one OS process "
            f"each), more than the per-run limit of {MAX_PROCESSES}; run it with --backend fixed"
        )


class LavaBackend:
    """The integer graph as lava-nc 0.10 processes, run on ``Loihi2SimCfg(select_tag='fixed_pt')``."""

    name = "lava"
    target = "loihi2-sim"
    label = "Lava 0.10 (Loihi2SimCfg fixed_pt)"
    short_label = "Lava"
    run_config = "Loihi2SimCfg(select_tag='fixed_pt')"

    def run(self, graph: Graph, spikes: np.ndarray, timeout: float | None = None) -> BackendRun:
        """Run ``graph`` on ``spikes`` in one Lava run (:func:`latdeploy.backends.lava.run_lava`).

        Returns:
            The :class:`BackendRun`; ``extras["recordings"]`` holds each layer's raw sink data.

        Raises:
            BackendError: if the graph needs more than :data:`MAX_PROCESSES` Lava processes,
                Lava is not importable, a node has no Lava builder, or the run fails.
            LavaTimeoutError: (a BackendError) if the run takes longer than ``timeout`` seconds.
        """
        check_process_count(graph)
        result = lava.run_lava(graph, spikes, timeout=timeout)
        timed = None if result.run_seconds is None else result.hardware_steps - 1  # the first step compiles
        return BackendRun(
            trace=result.trace,
            seconds=result.seconds,
            hardware_steps=result.hardware_steps,
            run_seconds=result.run_seconds,
            timed_steps=timed,
            extras={"recordings": result.hardware},
        )

    def versions(self) -> dict[str, str]:
        """Return ``{"lava-nc": version}`` (``{}`` when Lava is not installed)."""
        return lava.lava_versions()


BACKENDS.add(LavaBackend.name, LavaBackend())
