"""The executors' plugin import: importing it registers the shipped executors in
:data:`latdeploy.executors.base.EXECUTORS` (``local``: this process, ``ray``: a Ray cluster).

:data:`~latdeploy.executors.base.EXECUTORS` imports this module on its first lookup.
"""

from __future__ import annotations

from latdeploy.executors import local, ray_cluster  # noqa: F401  (register "local" and "ray")
