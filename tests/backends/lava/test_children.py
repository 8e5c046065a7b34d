"""The bound on Lava processes per run (latdeploy.backends.lava.children): a network beyond it is
refused before anything is forked; the shipped model stays well inside it."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

import latdeploy.backends.lava.children as children
from latdeploy.backends.lava import run_lava
from latdeploy.errors import ResourceError
from tests.conftest import int_graph


def test_a_run_beyond_the_process_limit_is_refused_before_any_fork(monkeypatch):
    graph = int_graph(np.random.default_rng(0), (4, 3, 2), timesteps=2)
    spikes = np.zeros((1, 2, 4), dtype=np.uint8)
    monkeypatch.setattr(children, "MAX_LAVA_PROCESSES", 3)
    before = {child.pid for child in multiprocessing.active_children()}
    with pytest.raises(ResourceError, match=r"needs \d+ Lava processes .* the limit is 3 per run"):
        run_lava(graph, spikes)
    assert {child.pid for child in multiprocessing.active_children()} == before


def test_the_limit_counts_and_allows_a_small_network():
    children.check_process_count(children.MAX_LAVA_PROCESSES)
    with pytest.raises(ResourceError):
        children.check_process_count(children.MAX_LAVA_PROCESSES + 1)
