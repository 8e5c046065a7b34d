"""Framework tests: each imports its framework with :func:`framework`, skipped when it is absent,
unless ``LATDEPLOY_REQUIRE_FRAMEWORKS=1`` (set by ``.ci/run``, which installs them) makes that a failure."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def framework(name: str) -> ModuleType:
    """Return the imported framework ``name``; skip the module if it is not installed (fail when required)."""
    if os.environ.get("LATDEPLOY_REQUIRE_FRAMEWORKS") == "1":
        return importlib.import_module(name)
    return pytest.importorskip(name, reason=f"{name} is not installed (the 'frameworks' extra)")
