"""The ``lava`` backend (target ``loihi2-sim``): :func:`latdeploy.backends.lava.run_lava` behind
:class:`latdeploy.backends.base.Backend`.

Lava itself, and the runner with its builders (and torch), are imported only when
:meth:`LavaBackend.run` builds the network or :meth:`LavaBackend.versions` is asked: registering the
backend stays light for the CLI (docs/layout.md, "Deferred imports").

Every Lava process runs in its own OS process (about 0.5 GB each): a network of more than
:data:`latdeploy.backends.lava.children.MAX_LAVA_PROCESSES` is refused before any starts
(:func:`latdeploy.backends.lava.session.lava_session` counts the processes Lava built).
"""

from __future__ import annotations

import numpy as np

from latdeploy.backends.base import BACKENDS, BackendRun
from latdeploy.ir import Graph


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
            ResourceError: if the network needs more Lava processes than
                :data:`latdeploy.backends.lava.children.MAX_LAVA_PROCESSES` (before any starts).
            BackendError: if Lava is not importable, a node has no Lava builder, or the run fails.
            LavaTimeoutError: (a BackendError) if the run takes longer than ``timeout`` seconds.
        """
        from latdeploy.backends import lava  # the package's run_lava (loaded on first use; tests replace it)

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
        from latdeploy.backends.lava.runner import lava_versions

        return lava_versions()


BACKENDS.add(LavaBackend.name, LavaBackend())
