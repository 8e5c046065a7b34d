"""The ``loihi2-sim`` target: the integer graph as lava-nc processes, run in ``fixed_pt``."""

from __future__ import annotations

from latdeploy.backends.lava.runner import LavaRun, lava_versions, run_lava

__all__ = ["LavaRun", "lava_versions", "run_lava"]
