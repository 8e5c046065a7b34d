"""The report drawn ahead in a forked child: taken only for identical arguments, never left running."""

from __future__ import annotations

import math
import os
import signal
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from latdeploy.report import prerender
from latdeploy.report.prerender import identical, prerendered, report_child

PARITY = {"samples": 2, "layers": [{"name": "h", "spikes": np.array([[0, 1]], np.uint8)}], "agreement": 1.0}
ARGUMENTS = (PARITY, [{"sops": 3}], {"sample": 0, "layers": []}, "title")


def pid_page(*_arguments):
    """A 'report' that says which process drew it."""
    return f"drawn by {os.getpid()}"


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_identical_arguments_take_the_childs_page(monkeypatch):
    monkeypatch.setattr(prerender, "render_html", pid_page)
    with prerendered(*ARGUMENTS) as pending:
        child = pending._pid
        page = pending.take(*ARGUMENTS)
    assert child is not None and child != os.getpid()
    assert page == f"drawn by {child}"
    assert gone(child)


def test_different_arguments_are_drawn_here(monkeypatch):
    monkeypatch.setattr(prerender, "render_html", pid_page)
    other = ({**PARITY, "agreement": 0.5}, *ARGUMENTS[1:])
    with prerendered(*ARGUMENTS) as pending:
        child = pending._pid
        assert pending.take(*other) == f"drawn by {os.getpid()}"
    assert gone(child)


def test_a_child_that_fails_is_replaced_by_a_page_drawn_here(monkeypatch):
    parent = os.getpid()

    def fail_in_child(*arguments):
        if os.getpid() != parent:
            raise RuntimeError("the child's matplotlib broke")
        return pid_page(*arguments)

    monkeypatch.setattr(prerender, "render_html", fail_in_child)
    with prerendered(*ARGUMENTS) as pending:
        assert pending.take(*ARGUMENTS) == f"drawn by {parent}"


def test_leaving_the_block_by_an_error_kills_the_child(monkeypatch):
    monkeypatch.setattr(prerender, "render_html", lambda *_: time.sleep(60) or "late")
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), prerendered(*ARGUMENTS) as pending:
        child = pending._pid
        raise KeyboardInterrupt
    assert gone(child)
    assert time.monotonic() - started < 30


def test_without_fork_the_page_is_drawn_here(monkeypatch):
    monkeypatch.setattr(prerender, "render_html", pid_page)
    with prerendered(*ARGUMENTS, fork=False) as pending:
        assert pending._pid is None
        assert pending.take(*ARGUMENTS) == f"drawn by {os.getpid()}"


def test_a_child_given_no_arguments_is_stopped_and_the_page_drawn_here(monkeypatch):
    monkeypatch.setattr(prerender, "render_html", pid_page)
    with report_child() as pending:
        child = pending._pid
        assert pending.take(*ARGUMENTS) == f"drawn by {os.getpid()}"
    assert gone(child)


def test_arguments_that_cannot_be_pickled_are_drawn_here(monkeypatch):
    monkeypatch.setattr(prerender, "render_html", pid_page)
    unpicklable = ({**PARITY, "callback": lambda: None}, *ARGUMENTS[1:])
    with report_child() as pending:
        pending.ahead(*unpicklable)
        assert pending.take(*unpicklable) == f"drawn by {os.getpid()}"


def test_handing_over_large_arguments_does_not_wait_for_the_child(monkeypatch):
    """The arguments go through a file: the parent never blocks on a pipe the child does not read yet."""
    monkeypatch.setattr(prerender, "render_html", pid_page)
    large = ({**PARITY, "spikes": np.ones((64, 1024, 64), np.uint8)}, *ARGUMENTS[1:])  # 4 MiB: 64 pipe buffers
    with report_child() as pending:
        child = pending._pid
        os.kill(child, signal.SIGSTOP)  # a child that reads nothing
        started = time.monotonic()
        pending.ahead(*large)
        assert time.monotonic() - started < 5
        os.kill(child, signal.SIGCONT)
        assert pending.take(*large) == f"drawn by {child}"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (1, 1.0),
        (0.0, -0.0),
        (float("nan"), 1.0),
        ((1, 2), [1, 2]),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
        (np.array([1, 2], np.int32), np.array([1, 2], np.int64)),
        (np.array([1, 2]), np.array([[1, 2]])),
        (np.int64(1), 1),
        ([1, 2], [1, 2, 3]),
    ],
)
def test_identical_tells_apart_what_could_draw_differently(first, second):
    assert not identical(first, second)
    assert not identical(second, first)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=3), children, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_identical_holds_for_a_value_and_its_copy(value):
    import copy

    assert identical(value, copy.deepcopy(value))


@given(st.floats(allow_nan=False), st.floats(allow_nan=False))
def test_identical_floats_are_equal_with_the_same_sign(first, second):
    assert identical(first, second) == (first == second and math.copysign(1, first) == math.copysign(1, second))
