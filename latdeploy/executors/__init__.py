"""Executors: what runs an evaluation's chunk tasks (:mod:`latdeploy.executors.base`).

This is the package's plugin-import module: importing it registers the shipped executors in
:data:`latdeploy.executors.base.EXECUTORS` (``local``, ``ray``).
"""

from latdeploy.executors import local, ray_cluster  # noqa: F401  (register "local" and "ray")
