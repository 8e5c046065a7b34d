"""Producers of IR graphs.

This module is the package's plugin import: it imports the modules that register torch
converters (neuron kinds register theirs through :mod:`latdeploy.neurons`). Other frameworks' converters
(:mod:`latdeploy.frontend.frameworks`) load when a model holds one of their layers.
"""

from __future__ import annotations

from latdeploy.frontend import torch_layers  # noqa: F401  (registers the conv-net layers)
