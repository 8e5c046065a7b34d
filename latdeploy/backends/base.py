"""The backend contract: what runs an integer graph on a chip or its simulator.

A backend is an object with a ``name`` (``"lava"``: the key in :data:`BACKENDS` and the
``"hardware"`` value of ``parity.json``), a ``target`` (the ``--target`` value that selects it
on export, ``"loihi2-sim"``), a ``label`` for reports (``"Lava 0.10 (Loihi2SimCfg fixed_pt)"``), a
``short_label`` for table columns and one-line texts (``"Lava"``), a ``run_config`` recorded in the
bundle's manifest, and two methods: :meth:`Backend.run` and :meth:`Backend.versions`.

Everything above ``latdeploy.backends`` (flows, verify, report, CLI) reaches a backend through
this protocol and :data:`BACKENDS`; the shipped backends register in
:mod:`latdeploy.backends.select`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from latdeploy.errors import LatdeployError
from latdeploy.ir import Graph
from latdeploy.registry import Registry
from latdeploy.sim.trace import Trace


@dataclass
class BackendRun:
    """A finished backend run.

    ``trace`` is in algorithmic time (each layer aligned by its lag, as the fixed-point
    simulator's); it holds every neuron layer's spikes and, for the output layer, ``u``, ``v``
    and ``v_pre``. ``seconds`` is the wall time of the whole run (compilation included),
    ``hardware_steps`` the steps the backend ran, ``run_seconds`` the simulation alone of its last
    ``timed_steps`` steps (both ``None`` when the backend cannot separate them), ``extras``
    backend-specific results (Lava: ``recordings``, each layer's raw ``[N, steps]`` sink data in
    hardware time).
    """

    trace: Trace
    seconds: float
    hardware_steps: int
    run_seconds: float | None = None
    timed_steps: int | None = None
    extras: dict[str, Any] = field(default_factory=dict)


class Backend(Protocol):
    """What the flows need of a backend (see the module docstring for the attributes)."""

    name: str
    target: str
    label: str
    short_label: str
    run_config: str

    def run(self, graph: Graph, spikes: np.ndarray, timeout: float | None = None) -> BackendRun:
        """Run the integer ``graph`` on ``spikes`` ``[B, T, n_in]``, every sample from reset state.

        ``timeout`` limits the wall-clock seconds of the run (None: no limit).

        Returns:
            The :class:`BackendRun`.

        Raises:
            BackendError: if the backend is not installed, cannot run a node, fails or times out.
        """
        ...

    def versions(self) -> dict[str, str]:
        """Return ``{package: version}`` of the software the backend runs on (``{}`` if not installed)."""
        ...


BACKENDS: Registry[str, Backend] = Registry(
    "backend", LatdeployError, hint="register one in latdeploy.backends.select (see docs/backends.md)"
)
"""The backends by ``name``; :mod:`latdeploy.backends.select` registers the shipped ones."""
