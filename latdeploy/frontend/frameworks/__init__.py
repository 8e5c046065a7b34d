"""Converters of other SNN frameworks' live modules, one module per framework (``docs/frameworks.md``).

Each framework is an optional dependency (the ``frameworks`` extra): its converters register in
:data:`latdeploy.frontend.converters.CONVERTERS` only when the framework is installed and imports;
:data:`AVAILABLE` names those that did.
"""

from __future__ import annotations

import importlib
import importlib.util

FRAMEWORKS = ("snntorch", "sinabs", "norse", "spikingjelly")
"""Framework package -> plugin module ``latdeploy.frontend.frameworks.<name>``."""


def _load(framework: str) -> bool:
    """Import the plugin of ``framework`` if the framework is installed; return whether it registered."""
    if importlib.util.find_spec(framework) is None:
        return False
    try:
        importlib.import_module(f"{__name__}.{framework}")
    except ImportError:  # installed but broken (a missing dependency of its own): treated as absent
        return False
    return True


AVAILABLE = tuple(name for name in FRAMEWORKS if _load(name))
"""The frameworks whose converters are registered."""
