"""latdeploy: deploy latency-coded spiking neural networks to neuromorphic hardware.

The public entry points are :func:`save` and :func:`load` for model files, :func:`export`,
:func:`verify_deployment` and :func:`estimate_energy` (:mod:`latdeploy.flows.api`, the library calls
behind the commands) and the ``latdeploy`` command line (:mod:`latdeploy.cli`).

``save``, ``load`` and ``FORMAT_VERSION`` are read from :mod:`latdeploy.nn.checkpoint`, ``export``,
``verify_deployment`` and ``estimate_energy`` from :mod:`latdeploy.flows.api`, on first use, so that
importing the package (as the ``latdeploy`` command does first) does not import torch: the command
line installs its signal handlers before anything heavy is imported.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["FORMAT_VERSION", "__version__", "estimate_energy", "export", "load", "save", "verify_deployment"]


def __getattr__(name: str) -> Any:
    """Return ``save``, ``load`` or ``FORMAT_VERSION`` from :mod:`latdeploy.nn.checkpoint`, or ``export``,
    ``verify_deployment`` or ``estimate_energy`` from :mod:`latdeploy.flows.api`.

    Raises:
        AttributeError: for any other name.
    """
    if name in ("FORMAT_VERSION", "load", "save"):
        from latdeploy.nn import checkpoint

        return getattr(checkpoint, name)
    if name in ("estimate_energy", "export", "verify_deployment"):
        from latdeploy.flows import api

        return getattr(api, name)
    raise AttributeError(f"module 'latdeploy' has no attribute {name!r}")
