"""The shipped backends, registered, and how a command chooses one.

This is the backends' plugin-import module: importing it registers every shipped backend
in :data:`latdeploy.backends.base.BACKENDS` (:mod:`latdeploy.backends.lava.backend`,
:mod:`latdeploy.backends.xylo.backend`).
Flows and the CLI look backends up here, by name (``run --backend``, ``verify --backend``) or by
target (``export --target``).
"""

from __future__ import annotations

import latdeploy.backends.lava.backend  # noqa: F401  (registers "lava")
import latdeploy.backends.xylo.backend  # noqa: F401  (registers "xylo")
from latdeploy.backends.base import BACKENDS, Backend
from latdeploy.errors import LatdeployError

DEFAULT_BACKEND = "lava"
"""The backend a command uses when none is named."""


def get_backend(name: str | None = None) -> Backend:
    """Return the backend registered as ``name`` (None: :data:`DEFAULT_BACKEND`).

    Raises:
        LatdeployError: ``no backend for <name>; supported: ...`` if none is registered so.
    """
    return BACKENDS.get(DEFAULT_BACKEND if name is None else name)


def backend_for_target(target: str | None = None) -> Backend:
    """Return the backend whose ``target`` is ``target`` (None: the default backend's).

    Raises:
        LatdeployError: naming the supported targets, if no backend has that target.
    """
    if target is None:
        return get_backend()
    for _, backend in BACKENDS.items():
        if backend.target == target:
            return backend
    raise LatdeployError(f"unknown target {target!r}; supported: {target_names()}")


def target_names() -> list[str]:
    """Return the registered backends' targets, in registration order."""
    return [backend.target for _, backend in BACKENDS.items()]


def backend_names() -> list[str]:
    """Return the registered backends' names, in registration order."""
    return BACKENDS.keys()


def hardware_label(name: str, short: bool = False) -> str:
    """Return the report label (or ``short`` label) of the backend ``name``; the name itself when it
    is not registered (a bundle written by a backend this installation lacks)."""
    backend = BACKENDS.find(name)
    if backend is None:
        return name
    return backend.short_label if short else backend.label
