"""The ``latdeploy`` command line: thin click commands over library functions.

Exit status: 0 success; 1 internal error; 2 user error (bad file, profile, option, output path);
3 parity failure (the fixed-point simulator and the hardware backend disagree); 130, 143, 129
stopped by Ctrl-C, SIGTERM, SIGHUP.

Each command lives in its own module and registers itself on :data:`cli` when
:mod:`latdeploy.cli.commands` imports it. A command parses its options (shared ones from :mod:`latdeploy.cli.options`),
makes one call into :mod:`latdeploy.flows` and prints with :mod:`latdeploy.cli.format`.

Deferred imports (docs/layout.md, "Deferred imports"; ``tests/test_layout.py`` checks that importing
every command loads no torch, numba, Lava, scipy, onnx, matplotlib or pydantic):

* the commands (and with them torch, numpy, click) in :func:`main` and on first use of :data:`cli`:
  :func:`main` first installs the handlers of Ctrl-C, SIGTERM and SIGHUP
  (:mod:`latdeploy.cli.interrupts`), so that a signal during those imports (a second or more)
  is one line and its exit status too;
* ``latdeploy.flows.*`` inside each command: the flows import the simulators, onnx,
  onnxruntime and the data sets, which ``latdeploy --help`` and option errors do not need;
* ``torch`` in ``finetune`` (to set its thread count);
* ``latdeploy.nn.checkpoint.TrustedPickleWarning`` in ``export``, with the flow;
* the verdict and the graph description in :mod:`latdeploy.cli.format`, when printed;
* the profile schema (pydantic) in :func:`latdeploy.hw.profile.load_profile`;
* the Lava runner and builders (torch) in :mod:`latdeploy.backends.lava`, on first use;
* ``lava`` itself, in :mod:`latdeploy.backends.lava` (its builders, ``run_lava`` and the process
  count of a run): imported
  only when a Lava run starts, so that everything else works without lava-nc installed.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import Any

from latdeploy.cli.interrupts import exit_interrupted, handle_interrupts

__all__ = ["cli", "main"]


def main() -> None:
    """Console entry point: handle interrupts, import the commands, run the CLI
    (:func:`latdeploy.cli.app.main` maps errors to exit codes).

    Called as the program itself (from the ``__main__`` module: the ``latdeploy`` script,
    ``python -m latdeploy.cli``), a successful run ends with :func:`_exit_now`; called from
    other code (tests), it returns or raises ``SystemExit`` as usual.
    """
    program = sys._getframe(1).f_globals.get("__name__") == "__main__"
    handle_interrupts()
    try:
        from latdeploy.cli.app import main as run_cli
        from latdeploy.cli.commands import cli  # noqa: F401  (registers every command)
    except KeyboardInterrupt as error:
        exit_interrupted(error)
    try:
        run_cli()
    except SystemExit as done:
        if done.code not in (None, 0) or not program:
            raise
    if program:
        _exit_now()


def _exit_now() -> None:
    """End a successful run without the interpreter's teardown (seconds of module and object
    destruction after torch, numba and Lava; nothing of it is the user's): run the ``atexit``
    handlers (multiprocessing's, ``weakref.finalize``'s, logging's flush), flush stdout and stderr,
    then ``os._exit(0)``. Every file the command wrote is closed by then (bundles are renamed into
    place). Returns without exiting (the normal teardown follows) if a non-daemon thread or a
    ``multiprocessing`` child is still alive, or a standard stream cannot be flushed.
    """
    if any(thread is not threading.main_thread() and not thread.daemon for thread in threading.enumerate()):
        return
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is not None and multiprocessing.active_children():  # also reaps finished ones
        return
    atexit._run_exitfuncs()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        return
    os._exit(0)


def __getattr__(name: str) -> Any:
    """Return :data:`cli` (the click group with every command registered).

    Raises:
        AttributeError: for any other name.
    """
    if name == "cli":
        from latdeploy.cli.commands import cli

        return cli
    raise AttributeError(f"module 'latdeploy.cli' has no attribute {name!r}")
