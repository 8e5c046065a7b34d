"""The shipped backends, registered, and how a command chooses one.

This is the backends' plugin-import module: importing it registers every shipped backend
in :data:`latdeploy.backends.base.BACKENDS` (:mod:`latdeploy.backends.lava.backend`,
:mod:`latdeploy.backends.xylo.backend`).
Flows and the CLI look backends up here, by name (``run --backend``, ``verify --backend``), by
target (``export --target``) or by profile (``verify`` and ``sweep`` without ``--backend``: the backend
whose hardware computes the profile's arithmetic, :func:`backend_for_profile`).
"""

from __future__ import annotations

import latdeploy.backends.lava.backend  # noqa: F401  (registers "lava")
import latdeploy.backends.xylo.backend  # noqa: F401  (registers "xylo")
from latdeploy.backends.base import BACKENDS, Backend
from latdeploy.errors import LatdeployError, ProfileError
from latdeploy.hw.arithmetic import LOIHI, XYLO
from latdeploy.hw.profile import Profile

DEFAULT_BACKEND = "lava"
"""The backend a command uses when none is named and the profile does not choose one."""
BACKEND_OF_DECAY_RULE = {LOIHI.decay_rule: "lava", XYLO.decay_rule: "xylo"}
"""The backend whose hardware computes a profile's arithmetic, by its decay rule (the field that tells the
implemented arithmetics apart: Loihi multiplies, Xylo shifts)."""


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


def backend_for_profile(profile: Profile) -> Backend:
    """Return the backend whose hardware computes ``profile``'s arithmetic (:data:`BACKEND_OF_DECAY_RULE`):
    ``xylo`` for ``xylo-audio2``, ``lava`` for the Loihi profiles; :data:`DEFAULT_BACKEND` for an
    energy-only profile (it has no arithmetic).

    Raises:
        ProfileError: if the profile's arithmetic is not one latdeploy implements.
        LatdeployError: if that backend is not registered.
    """
    try:
        rule = profile.arithmetic.decay_rule
    except ProfileError:
        if profile.kind == "chip":
            raise
        return get_backend()
    return get_backend(BACKEND_OF_DECAY_RULE.get(rule, DEFAULT_BACKEND))


def resolve_backend(name: str | None, profile: Profile) -> Backend:
    """Return the backend named ``name``, or (None) :func:`backend_for_profile` of ``profile``.

    Raises:
        LatdeployError: if no backend is registered under ``name``.
        ProfileError: from :func:`backend_for_profile`.
    """
    return get_backend(name) if name is not None else backend_for_profile(profile)


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
