"""The ``loihi2-sim`` target: the integer graph as lava-nc processes, run in ``fixed_pt``.

``LavaRun``, ``lava_versions`` and ``run_lava`` are read from :mod:`latdeploy.backends.lava.runner`
on first use, so that registering the backend (:mod:`latdeploy.backends.select`, which the CLI
imports to name the hardware) loads neither torch nor the Lava builders (docs/layout.md,
"Deferred imports").
"""

from __future__ import annotations

from typing import Any

__all__ = ["LavaRun", "lava_versions", "run_lava"]


def __getattr__(name: str) -> Any:
    """Return ``LavaRun``, ``lava_versions`` or ``run_lava`` from :mod:`latdeploy.backends.lava.runner`.

    Raises:
        AttributeError: for any other name.
    """
    if name in __all__:
        from latdeploy.backends.lava import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'latdeploy.backends.lava' has no attribute {name!r}")
