"""latdeploy: deploy latency-coded spiking neural networks to neuromorphic hardware.

The public entry points are :func:`save` and :func:`load` for model files and the
``latdeploy`` command line (:mod:`latdeploy.cli`).
"""

from __future__ import annotations

from latdeploy.nn.checkpoint import FORMAT_VERSION, load, save

__version__ = "0.1.0"

__all__ = ["FORMAT_VERSION", "__version__", "load", "save"]
