"""Producers of IR graphs.

Importing the package imports nothing heavy: the readers of ``.net`` and ``.nir`` files and the
graph description need no torch. The modules that register torch converters load when
:data:`latdeploy.frontend.converters.CONVERTERS` is first read (its plugin import,
:mod:`latdeploy.frontend.plugins`; neuron kinds register theirs through :mod:`latdeploy.neurons`).
Other frameworks' converters (:mod:`latdeploy.frontend.frameworks`) load when a model holds one of
their layers.
"""

from __future__ import annotations
