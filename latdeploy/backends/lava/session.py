"""Run a Lava network so that it always ends: a wall-clock limit, and a stop that
cannot hang or leave processes behind.

Lava's runtime (``Loihi2SimCfg``) forks operating-system processes for every
ProcessModel, its runtime service, a shared-memory manager and a watchdog
manager, all ``multiprocessing`` children of this process. :func:`lava_session`
records the children that exist before the run; whatever way the block is left
(success, an error, Ctrl-C, SIGTERM, SIGHUP, the time limit) it asks Lava to stop, bounded
by :data:`STOP_SECONDS`, then kills every child the run added. The children are forked
under :func:`latdeploy.backends.lava.children.guarded_children`: they ignore interrupts sent
to the whole process group, write nothing to the terminal and die with this process even
when it is killed with SIGKILL; a run is refused beyond
:data:`latdeploy.backends.lava.children.MAX_LAVA_PROCESSES` Lava processes.

The time limit uses ``SIGALRM`` and so needs the main thread; elsewhere runs are
unlimited.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from latdeploy.backends.lava.children import (
    check_process_count,
    guarded_children,
    lava_process_count,
)
from latdeploy.errors import STOPPING_SIGNALS, BackendError, raise_if_interrupted

STOP_SECONDS = 10.0
"""How long Lava may take to stop before its processes are killed."""


class LavaTimeoutError(BackendError):
    """A Lava run took longer than its wall-clock limit (``--lava-timeout``)."""


class _Expired(BaseException):
    """Raised by the alarm inside a bounded block (a BaseException: Lava's ``except Exception`` cannot eat it)."""


@contextlib.contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
    """Raise :class:`_Expired` in the block after ``seconds``, then every second until it is left.

    Repeating matters: Lava's own ``finally`` clauses may block again (joining a
    process) while the first :class:`_Expired` unwinds. No limit for ``None`` or
    off the main thread.
    """
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    armed = [True]

    def expire(_signum: int, _frame: Any) -> None:
        if armed[0]:
            raise _Expired

    def ignore_swallowed(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, _Expired):  # e.g. raised in a fork hook: the next one counts
            previous_hook(unraisable)

    previous_hook, sys.unraisablehook = sys.unraisablehook, ignore_swallowed
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.unraisablehook = previous_hook


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Ignore SIGINT/SIGTERM/SIGHUP in the block (so that cleanup runs to the end), then restore them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in STOPPING_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _kill(processes: list[multiprocessing.Process]) -> None:
    """SIGKILL ``processes`` and reap them (within :data:`STOP_SECONDS` each)."""
    running = []
    for process in processes:
        try:
            if process.is_alive():
                process.kill()
                running.append(process)
        except ValueError:  # closed: Lava already joined it
            pass
    for process in running:
        multiprocessing.Process.join(process, STOP_SECONDS)  # Lava's SystemProcess.join takes no timeout


def _bounded(action: Callable[[], Any]) -> None:
    """Run ``action`` for at most :data:`STOP_SECONDS`; a failure or a hang is ignored (the kill follows)."""
    try:
        with _alarm(STOP_SECONDS):
            action()
    except (Exception, _Expired):
        pass


def _stop(source: Any, children_before: set[int], graceful: bool) -> None:
    """End the Lava runtime of ``source`` and every process it started.

    ``graceful``: ask Lava to stop first (bounded by :data:`STOP_SECONDS`).
    Otherwise (an error, an interrupt, a timeout) Lava's own stop could wait
    forever on processes that are dead or mid-step, so its ProcessModel processes
    are killed at once; its shared-memory server is then shut down properly (it
    unlinks every segment, so nothing leaks in ``/dev/shm``), and any other child
    the run started is killed. The runtime is finally marked stopped, so that
    Lava's ``__del__`` hooks do not wait on the dead processes again.
    """
    with _signals_deferred():
        runtime = getattr(source, "_runtime", None)
        if graceful and runtime is not None:
            _bounded(source.stop)
        infrastructure = getattr(runtime, "_messaging_infrastructure", None)
        if infrastructure is not None:
            _kill(list(getattr(infrastructure, "actors", [])))
            smm = getattr(infrastructure, "smm", None)
            if smm is not None:
                _bounded(smm.shutdown)
        _kill([child for child in multiprocessing.active_children() if child.pid not in children_before])
        if runtime is not None:
            runtime._is_started = False
            runtime._is_running = False
            watchdog = getattr(runtime, "_watchdog_manager", None)
            if getattr(watchdog, "_mp_manager", None) is not None:
                watchdog._mp_manager = None  # its processes are gone: Lava's stop must not message them


@contextlib.contextmanager
def lava_session(source: Any, timeout: float | None = None) -> Iterator[Callable[..., None]]:
    """Yield ``run(**run_kwargs)``, which runs ``source`` (a Lava process); all runs of the
    session together must end within ``timeout`` seconds.

    The block may read results after ``run``; on leaving it, however it is left,
    Lava is stopped and every process the run started is gone.

    Raises:
        LavaTimeoutError: if ``run`` takes longer than ``timeout`` seconds
            (compilation included).
        ResourceError: if the network has more Lava processes than
            :data:`latdeploy.backends.lava.children.MAX_LAVA_PROCESSES` (before anything starts).
        ValueError: if ``timeout`` is not positive.
    """
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
    check_process_count(lava_process_count(source))
    children_before = {child.pid for child in multiprocessing.active_children()}
    deadline = None if timeout is None else time.monotonic() + timeout

    def run(**run_kwargs: Any) -> None:
        remaining = None if deadline is None else deadline - time.monotonic()
        try:
            if remaining is not None and remaining <= 0:
                raise _Expired
            with _alarm(remaining):
                source.run(**run_kwargs)
            raise_if_interrupted()  # a signal that arrived while Lava forked was swallowed there
        except _Expired:
            raise LavaTimeoutError(
                f"the Lava run took longer than --lava-timeout {timeout:g} s and was stopped; "
                "raise the limit or verify fewer samples"
            ) from None

    with guarded_children():
        graceful = False
        try:
            yield run
            graceful = True
        finally:
            _stop(source, children_before, graceful)
