"""Converters of other SNN frameworks' live modules, one module per framework (``docs/frameworks.md``).

Each framework is an optional dependency (the ``frameworks`` extra). Its plugin module
(``latdeploy.frontend.frameworks.<name>``) registers its converters in
:data:`latdeploy.frontend.converters.CONVERTERS` when it is imported, and it is imported only when a
model holds a layer of that framework (:func:`load_for`, called by
:func:`~latdeploy.frontend.converters.converter_for`): the framework is then imported already, and
nothing else pays for it (SpikingJelly alone takes seconds to import and prints to stdout).
"""

from __future__ import annotations

import importlib
import importlib.util

FRAMEWORKS = ("snntorch", "sinabs", "norse", "spikingjelly", "lava")
"""Framework packages with a plugin module ``latdeploy.frontend.frameworks.<name>`` (:data:`PLUGINS` renames)."""
PLUGINS = {"lava": "slayer"}
"""Plugin modules not named after their package: lava-dl's slayer lives in ``lava.lib.dl.slayer``."""

_LOADED: dict[str, bool] = {}


def _load(framework: str) -> bool:
    """Import the plugin of ``framework`` if the framework is installed; return whether it registered."""
    if importlib.util.find_spec(framework) is None:
        return False
    try:
        importlib.import_module(f"{__name__}.{PLUGINS.get(framework, framework)}")
    except ImportError:  # installed but broken (a missing dependency of its own): treated as absent
        return False
    return True


def load_for(module_type: type) -> bool:
    """Load the plugin of the framework that defines ``module_type`` or one of its bases, once.

    Returns:
        True if a plugin was loaded now (its converters are registered), False if none applies or it was
        loaded (or failed) before.
    """
    for cls in module_type.__mro__:
        framework = cls.__module__.split(".")[0]
        if framework in FRAMEWORKS and framework not in _LOADED:
            _LOADED[framework] = _load(framework)
            return _LOADED[framework]
    return False
