"""Producers of IR graphs.

This module is the package's plugin import: it imports the modules that register torch
converters (neuron kinds register theirs through :mod:`latdeploy.neurons`; other frameworks' through
:mod:`latdeploy.frontend.frameworks`, when installed).
"""

from __future__ import annotations

from latdeploy.frontend import (
    frameworks,  # noqa: F401  (registers the installed frameworks' converters)
    torch_layers,  # noqa: F401  (registers the conv-net layers)
)
