"""Executors: what runs an evaluation's chunk tasks (:mod:`latdeploy.executors.base`).

Importing the package loads nothing: :data:`latdeploy.executors.base.EXECUTORS` imports the
plugin module :mod:`latdeploy.executors.plugins` (``local``, ``ray``) on its first lookup, so that
the CLI's option declarations stay light.
"""
