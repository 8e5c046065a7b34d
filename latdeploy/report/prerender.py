"""The HTML report rendered ahead, in a forked process, while the hardware run goes on.

:func:`render_html` is :func:`latdeploy.report.html.render_report`, a deterministic function of its
arguments (the SVG plots have a fixed ``svg.hashsalt`` and no date), imported when first called: the
report's matplotlib (~0.6 s of imports) loads only where a report is drawn.

:func:`report_child` forks a child early (an export forks it before it loads its model): the child
imports the report's libraries on the other core while the parent loads, quantizes and simulates,
then waits. :meth:`Prerender.ahead` hands it the *expected* arguments (an export's parity as it will
be if the hardware run equals the fixed-point simulator), and it renders them while the parent goes
on (the Lava run: its steps are spent waiting on Lava's processes). :meth:`Prerender.take` hands the
child's page back only if the real arguments equal the expected ones exactly (:func:`identical`:
same types, same values, arrays with the same dtype, shape and bytes); otherwise, or if the child
failed, it renders them here. Either way the page is the one the real arguments give: nothing is
skipped or guessed, the work only moves to the other core. :func:`prerendered` is both steps at once.

The arguments reach the child pickled, through an unnamed temporary file both hold (so that the
parent never blocks on a pipe the child is not yet reading), with their length sent on a pipe: only
this process writes them and only its own child reads them, so the pickle carries nothing from
outside (model files are never unpickled). The child is mortal and deaf (``PR_SET_PDEATHSIG``,
SIGINT/SIGTERM/SIGHUP ignored, so that a Ctrl-C to the process group reaches only the parent), silent
(its stdout and stderr go to ``/dev/null``), runs as a batch process (``SCHED_BATCH``: the hardware
run's processes preempt it when they wake, but it keeps its fair share of a busy machine, where a
lower priority would starve it while the parent waits for its page) and sends the page as raw UTF-8
bytes through a pipe. Leaving the block, however it is left, kills and reaps a child that is still
running.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import pickle
import signal
import sys
import tempfile
from collections.abc import Iterator
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
    """A report child (``pid``; None: no child, :meth:`take` renders here) reading its arguments'
    length from the pipe ``go``, the arguments from the file ``arguments_file``, and writing the page
    to the pipe ``page``."""

    def __init__(self, pid: int | None, go: int | None, arguments_file: Any, page: int | None) -> None:
        self._pid = pid
        self._go = go
        self._arguments_file = arguments_file
        self._page = page
        self._arguments: tuple[Any, ...] | None = None

    def ahead(self, *arguments: Any) -> None:
        """Have the child render ``arguments`` (those of :func:`render_html`; call once, and do not
        change them until :meth:`take`). Arguments that cannot be pickled are not sent: :meth:`take`
        then renders here."""
        if self._go is None or self._arguments is not None:
            return
        self._arguments = arguments
        try:
            data = pickle.dumps(arguments, protocol=pickle.HIGHEST_PROTOCOL)
            self._arguments_file.write(data)
            self._arguments_file.flush()
            os.write(self._go, len(data).to_bytes(8, "little"))
        except (pickle.PicklingError, TypeError, AttributeError, OSError):
            self._arguments = None
        finally:
            os.close(self._go)  # the child reads the length, or an end of file that tells it to stop
            self._go = None

    def take(self, *arguments: Any) -> str:
        """Return the report of ``arguments`` (those of :func:`render_html`): the child's page when
        ``arguments`` are :func:`identical` to the ones given to :meth:`ahead` and the child succeeded,
        else one rendered here (the child is then stopped)."""
        sent = self._pid is not None and self._page is not None and self._arguments is not None
        page = self._receive() if sent and identical(arguments, self._arguments) else None
        self.close()
        return page if page is not None else render_html(*arguments)

    def _receive(self) -> str | None:
        """Wait for the child; return its page, or None if it failed."""
        assert self._page is not None and self._pid is not None
        chunks = []
        with contextlib.suppress(OSError):
            while chunk := os.read(self._page, 1 << 20):
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
        """Kill and reap the child if it still runs; close the pipes and the file (idempotent)."""
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = None
        for name in ("_go", "_page"):
            descriptor = getattr(self, name)
            if descriptor is not None:
                os.close(descriptor)
                setattr(self, name, None)
        if self._arguments_file is not None:
            self._arguments_file.close()
            self._arguments_file = None


def _read_exactly(descriptor: int, count: int) -> bytes:
    """Read ``count`` bytes from ``descriptor`` (fewer at its end of file)."""
    data = b""
    while len(data) < count and (chunk := os.read(descriptor, count - len(data))):
        data += chunk
    return data


def _child(go: int, arguments_file: int, page: int) -> None:
    """The forked child: make itself mortal, deaf, silent and a batch process, import the report's
    libraries, wait for the arguments, render, write the page, exit (status 1 without arguments)."""
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
        import latdeploy.report.html  # noqa: F401  (matplotlib, while the parent prepares the arguments)

        header = _read_exactly(go, 8)
        if len(header) == 8:
            length = int.from_bytes(header, "little")
            arguments = pickle.loads(os.pread(arguments_file, length, 0))  # written by the parent alone
            data = memoryview(render_html(*arguments).encode("utf-8"))
            while data:
                data = data[os.write(page, data) :]
            status = 0
    finally:
        os._exit(status)


@contextlib.contextmanager
def report_child(fork: bool = True) -> Iterator[Prerender]:
    """Fork a child now that imports the report's libraries and waits for :meth:`Prerender.ahead`'s
    arguments; yield the :class:`Prerender` (see the module docstring).

    Without ``fork`` (e.g. beside a Ray client, whose threads a fork would copy), or where
    ``os.fork`` does not exist, nothing is forked and the report is rendered by ``take`` alone.
    """
    if not fork or not hasattr(os, "fork"):
        yield Prerender(None, None, None, None)
        return
    arguments_file = tempfile.TemporaryFile()
    go_read, go_write = os.pipe()
    page_read, page_write = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        for descriptor in (go_read, go_write, page_read, page_write):
            os.close(descriptor)
        arguments_file.close()
        yield Prerender(None, None, None, None)
        return
    if pid == 0:  # the child never returns
        os.close(go_write)
        os.close(page_read)
        _child(go_read, arguments_file.fileno(), page_write)
    pending = Prerender(pid, go_write, arguments_file, page_read)
    try:
        os.close(go_read)
        os.close(page_write)
        raise_if_interrupted()  # a signal whose exception Python swallowed in an at-fork hook
        yield pending
    finally:
        pending.close()


@contextlib.contextmanager
def prerendered(
    parity: dict[str, Any],
    energies: list[dict[str, Any]],
    rasters: dict[str, Any] | None,
    title: str,
    fork: bool = True,
) -> Iterator[Prerender]:
    """:func:`report_child`, then :meth:`Prerender.ahead` of these (expected) arguments: yield the
    :class:`Prerender` whose :meth:`~Prerender.take` returns the report of the real ones."""
    with report_child(fork) as pending:
        pending.ahead(parity, energies, rasters, title)
        yield pending
