"""Lava's child processes: bounded in number, silent, obedient to their parent, gone with it.

Lava's runtime forks an operating-system process per ProcessModel plus a runtime service, a
shared-memory manager and a watchdog manager (:mod:`latdeploy.backends.lava.session`). While
:func:`guarded_children` is active, every process forked (by Lava, or by its children) is made:

* **mortal**: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (Linux), so that it dies with its parent,
  also when the parent is killed with SIGKILL; a child whose parent died before the call
  exits at once;
* **deaf to interrupts**: SIGINT, SIGTERM and SIGHUP are ignored (the first thing the child
  does; Python drops signals that arrived before), so that a Ctrl-C or a SIGTERM sent to the
  whole process group (as a terminal does) reaches only latdeploy's main process, which then
  stops Lava and removes every child (:func:`latdeploy.backends.lava.session.lava_session`);
* **silent**: its stdout and stderr go to a log file in the run's directory (also
  multiprocessing's resource tracker's), never to the user's terminal.

What a run leaves on disk carries the owner's (latdeploy's main process's) id: the run directory
``<tmp>/latdeploy-lava.PID.RANDOM`` (multiprocessing's temporary directory and the log live in
it), and the shared-memory segments ``/dev/shm/psm_PID_HEX``. On leaving the block the run
directory is removed; a run that was killed cannot, so every run first removes what runs whose
owner is gone left behind (:func:`remove_stale_lava_state`).

A run may start at most :data:`MAX_LAVA_PROCESSES` Lava processes; a bigger network is refused
(:func:`check_process_count`) before anything is forked.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import secrets
import shutil
import signal
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing import process as multiprocessing_process
from multiprocessing import resource_tracker, shared_memory
from pathlib import Path
from typing import Any

from latdeploy.errors import STOPPING_SIGNALS, ResourceError
from latdeploy.report.stale_state import remove_stale

MAX_LAVA_PROCESSES = 64
"""The most Lava processes (one per ProcessModel: sources, synapses, neurons, sinks, readers) one
run may start; each is an operating-system process of ~0.1-0.5 GB."""
SHARED_MEMORY_DIRECTORY = Path("/dev/shm")
RUN_DIRECTORY_PREFIX = "latdeploy-lava."
STALE_RUN_DIRECTORY = re.compile(r"latdeploy-lava\.(?P<pid>\d+)\.[A-Za-z0-9_]+")
STALE_SEGMENT = re.compile(r"psm_(?P<pid>\d+)_[0-9a-f]+")
_PR_SET_PDEATHSIG = 1


@dataclass
class _Guard:
    """The state the fork hooks read (inherited by every forked child, so grandchildren too)."""

    log_descriptor: int
    forking_pid: int = 0


_guard: _Guard | None = None
_libc = ctypes.CDLL(None, use_errno=True)


def _before_fork() -> None:
    if _guard is not None:
        _guard.forking_pid = os.getpid()


def _after_fork_in_child() -> None:
    if _guard is None:
        return
    for number in STOPPING_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != _guard.forking_pid:  # the parent died before the death signal was armed
        os._exit(1)
    os.dup2(_guard.log_descriptor, 1)
    os.dup2(_guard.log_descriptor, 2)


os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


def lava_process_count(source: Any) -> int:
    """Return how many Lava processes the network around the Lava process ``source`` has
    (Lava's compiler starts an operating-system process for each)."""
    from lava.magma.compiler.compiler_graphs import find_processes

    return len(find_processes(source))


def check_process_count(count: int) -> None:
    """Refuse a run of ``count`` Lava processes beyond :data:`MAX_LAVA_PROCESSES`.

    Raises:
        ResourceError: naming both figures.
    """
    if count > MAX_LAVA_PROCESSES:
        raise ResourceError(
            f"the Lava run needs {count} Lava processes (one operating-system process each); the limit is "
            f"{MAX_LAVA_PROCESSES} per run: verify with --backend fixed or a smaller network"
        )


def remove_stale_lava_state() -> list[Path]:
    """Remove the run directories and shared-memory segments of Lava runs whose owner is gone.

    Returns:
        The paths removed.
    """
    return [
        *remove_stale(Path(tempfile.gettempdir()), STALE_RUN_DIRECTORY),
        *remove_stale(SHARED_MEMORY_DIRECTORY, STALE_SEGMENT),
    ]


def _owned_segment_name(owner: int) -> str:
    return f"/psm_{owner}_{secrets.token_hex(8)}"


@contextlib.contextmanager
def _log_as_stderr(descriptor: int) -> Iterator[None]:
    """Point this process's file descriptor 2 at ``descriptor`` in the block."""
    saved = os.dup(2)
    os.dup2(descriptor, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def guarded_children() -> Iterator[Path]:
    """Context manager: make every process forked in the block mortal, deaf to interrupts and
    silent (module docstring), and name the run's state with this process's id.

    Stale state of dead runs is removed first. Yields the run directory (removed on leaving).
    Blocks do not nest.
    """
    global _guard
    remove_stale_lava_state()
    owner = os.getpid()
    run_directory = Path(tempfile.mkdtemp(prefix=f"{RUN_DIRECTORY_PREFIX}{owner}."))
    temporary = run_directory / "multiprocessing"
    temporary.mkdir()
    config = multiprocessing_process.current_process()._config
    previous_temporary = config.get("tempdir")
    previous_names = shared_memory._make_filename
    log_descriptor = os.open(run_directory / "children.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        with _log_as_stderr(log_descriptor):
            resource_tracker.ensure_running()  # its warnings go to the log, not the terminal
        config["tempdir"] = str(temporary)  # multiprocessing's temporary files of the run's processes
        shared_memory._make_filename = lambda: _owned_segment_name(owner)  # segments carry the owner's id
        _guard = _Guard(log_descriptor)
        yield run_directory
    finally:
        _guard = None
        shared_memory._make_filename = previous_names
        if previous_temporary is None:
            config.pop("tempdir", None)
        else:
            config["tempdir"] = previous_temporary
        os.close(log_descriptor)
        shutil.rmtree(run_directory, ignore_errors=True)
