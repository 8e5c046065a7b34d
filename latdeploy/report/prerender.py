"""The HTML report rendered ahead, in a forked process, while the hardware run goes on.

:func:`render_html` is :func:`latdeploy.report.html.render_report`, a deterministic function of its
arguments (the SVG plots have a fixed ``svg.hashsalt`` and no date), imported when first called: the
report's matplotlib (~0.5 s of imports) loads only where a report is drawn.

:func:`prerendered` forks a child that renders the report from *expected* arguments (an export's
parity as it will be if the hardware run equals the fixed-point simulator) while the parent goes on
(the Lava run: its steps are spent waiting on Lava's processes). :meth:`Prerender.take` hands the
child's page back only if the real arguments equal the expected ones exactly
(:func:`identical`: same types, same values, arrays with the same dtype, shape and bytes); otherwise,
or if the child failed, it renders them here. Either way the page is the one the real arguments give:
nothing is skipped or guessed, the work only moves to the other core.

The child is mortal and deaf (``PR_SET_PDEATHSIG``, SIGINT/SIGTERM/SIGHUP ignored, so that a
Ctrl-C to the process group reaches only the parent), silent (its stdout and stderr go to
``/dev/null``), runs as a batch process (``SCHED_BATCH``: the hardware run's processes preempt it
when they wake, but it keeps its fair share of a busy machine, where a lower priority would starve it
while the parent waits for its page) and sends the page as raw UTF-8 bytes through a pipe (nothing
is pickled). Leaving the block, however it is left, kills and reaps a child that is still running.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from latdeploy.errors import STOPPING_SIGNALS, raise_if_interrupted

_PR_SET_PDEATHSIG = 1


def render_html(
    parity: dict[str, Any], energies: list[dict[str, Any]], rasters: dict[str, Any] | None, title: str
) -> str:
    """Return :func:`latdeploy.report.html.render_report` of the arguments (imported on first use)."""
    from latdeploy.report.html import render_report

    return render_report(parity, energies, rasters, title=title)


def identical(first: Any, second: Any) -> bool:
    """Return True when ``first`` and ``second`` are the same data: equal types all the way down,
    dicts with the same keys in the same order, sequences of the same length, numpy arrays of the
    same dtype, shape and bytes, floats with the same bits (``nan`` equals ``nan``, ``0.0`` is not
    ``-0.0``). Anything else must compare equal with ``==`` and have the same type."""
    if type(first) is not type(second):
        return False
    if isinstance(first, dict):
        return list(first) == list(second) and all(identical(first[key], second[key]) for key in first)
    if isinstance(first, (list, tuple)):
        return len(first) == len(second) and all(identical(a, b) for a, b in zip(first, second, strict=True))
    if isinstance(first, np.ndarray):
        return first.dtype == second.dtype and first.shape == second.shape and first.tobytes() == second.tobytes()
    if isinstance(first, (float, np.floating)):
        if math.isnan(first) or math.isnan(second):
            return math.isnan(first) and math.isnan(second)
        return bool(first == second) and math.copysign(1.0, first) == math.copysign(1.0, second)
    return bool(first == second)


class Prerender:
    """A report being rendered in the child ``pid``, which writes it to the pipe ``descriptor``
    (both None: no child, :meth:`take` renders here)."""

    def __init__(self, pid: int | None, descriptor: int | None, arguments: tuple[Any, ...]) -> None:
        self._pid = pid
        self._descriptor = descriptor
        self._arguments = arguments

    def take(self, *arguments: Any) -> str:
        """Return the report of ``arguments`` (those of :func:`render_html`): the child's page when
        ``arguments`` are :func:`identical` to the expected ones and the child succeeded, else one
        rendered here (the child is then stopped)."""
        running = self._pid is not None and self._descriptor is not None
        page = self._receive() if running and identical(arguments, self._arguments) else None
        self.close()
        return page if page is not None else render_html(*arguments)

    def _receive(self) -> str | None:
        """Wait for the child; return its page, or None if it failed."""
        assert self._descriptor is not None and self._pid is not None
        chunks = []
        with contextlib.suppress(OSError):
            while chunk := os.read(self._descriptor, 1 << 20):
                chunks.append(chunk)
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return None
        try:
            return b"".join(chunks).decode("utf-8")
        except UnicodeDecodeError:
            return None

    def close(self) -> None:
        """Kill and reap the child if it still runs; close the pipe (idempotent)."""
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = None
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None


def _child(write: int, render: Callable[[], str]) -> None:
    """The forked child: make itself mortal, deaf, silent and a batch process, render, write, exit."""
    status = 1
    try:
        for number in STOPPING_SIGNALS:
            signal.signal(number, signal.SIG_IGN)
        if sys.platform.startswith("linux"):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        if hasattr(os, "SCHED_BATCH"):  # Lava's processes preempt it when they wake; its fair share stays
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        data = memoryview(render().encode("utf-8"))
        while data:
            data = data[os.write(write, data) :]
        status = 0
    finally:
        os._exit(status)


@contextlib.contextmanager
def prerendered(
    parity: dict[str, Any],
    energies: list[dict[str, Any]],
    rasters: dict[str, Any] | None,
    title: str,
    fork: bool = True,
) -> Iterator[Prerender]:
    """Fork a child that renders the report of these (expected) arguments; yield the
    :class:`Prerender` whose :meth:`~Prerender.take` returns the report of the real ones.

    The arguments must not be changed while the block runs (they are compared with the real
    ones). Without ``fork`` (e.g. beside a Ray client, whose threads a fork would copy), or where
    ``os.fork`` does not exist, the report is rendered by ``take`` alone.
    """
    arguments = (parity, energies, rasters, title)
    if not fork or not hasattr(os, "fork"):
        yield Prerender(None, None, arguments)
        return
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        yield Prerender(None, None, arguments)
        return
    if pid == 0:  # the child never returns
        os.close(read)
        _child(write, lambda: render_html(*arguments))
    pending = Prerender(pid, read, arguments)
    try:
        os.close(write)
        raise_if_interrupted()  # a signal whose exception Python swallowed in an at-fork hook
        yield pending
    finally:
        pending.close()
