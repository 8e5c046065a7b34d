"""Xylo tests that run xylosim itself (``pytestmark = pytest.mark.usefixtures("xylosim_installed")``): skipped
when it is absent, unless ``LATDEPLOY_REQUIRE_XYLO=1``
(set by ``.ci/run``, which installs the 'xylo' extra) makes that a failure."""

from __future__ import annotations

import importlib
import os

import pytest


@pytest.fixture(scope="session")
def xylosim_installed() -> None:
    """Skip the Xylo tests when xylosim is not installed (fail when it is required)."""
    if os.environ.get("LATDEPLOY_REQUIRE_XYLO") == "1":
        importlib.import_module("xylosim.v2")
    else:
        pytest.importorskip("xylosim.v2", reason="xylosim is not installed (the 'xylo' extra, Python 3.10)")
