"""Simulators of the IR: float (equals the torch model) and fixed point (equals Lava).

Importing the package loads nothing: the kernel registries import the plugin module
:mod:`latdeploy.sim.plugins` (conv, pool and delay kernels) on their first lookup, so that
:mod:`latdeploy.sim.trace` stays light for the CLI.
"""

from __future__ import annotations
