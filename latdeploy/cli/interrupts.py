"""Signals that stop the command line: Ctrl-C (SIGINT), SIGTERM and SIGHUP, each one line and
its exit status (130, 143, 129), whenever it arrives, from the first import on.

:func:`handle_interrupts` makes each signal raise :class:`Interrupted` (a KeyboardInterrupt, so
that every ``finally`` and context manager on the way cleans up: no partial bundle, no Lava
process); after the first one the others are ignored, so that the cleanup runs to the end and
one line is all that is printed. A signal whose disposition was "ignore" when latdeploy started
(``nohup``, a background job) stays ignored.

This module imports nothing heavy: :func:`latdeploy.cli.main` installs the handlers before it
imports the commands (and with them torch).
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any, NoReturn

from latdeploy.errors import (
    EXIT_HANGUP,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    STOPPING_SIGNALS,
    Interrupted,
    note_interrupt,
)

SIGNAL_EXITS = {
    signal.SIGINT: ("Ctrl-C", EXIT_INTERRUPTED),
    signal.SIGTERM: ("SIGTERM", EXIT_TERMINATED),
    signal.SIGHUP: ("SIGHUP", EXIT_HANGUP),
}
"""Each of :data:`latdeploy.errors.STOPPING_SIGNALS`: its name in the message and the exit status."""


def _raise_interrupted(signum: int, _frame: Any) -> None:
    for number in STOPPING_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    note_interrupt(signum)  # an exception raised inside an at-fork hook or finalizer is swallowed
    raise Interrupted(signum)


def _quiet_unraisable(unraisable: Any) -> None:
    """``sys.unraisablehook``: an :class:`Interrupted` that Python could not raise (the signal arrived
    inside an at-fork hook or a finalizer) is recorded already and re-raised later
    (:func:`latdeploy.errors.raise_if_interrupted`), so its traceback is not printed; anything else is
    reported as Python does."""
    if isinstance(unraisable.exc_value, Interrupted):
        return
    sys.__unraisablehook__(unraisable)


def handle_interrupts() -> None:
    """Make SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted` (main thread only; a signal
    ignored at start stays ignored)."""
    if threading.current_thread() is not threading.main_thread():
        return
    sys.unraisablehook = _quiet_unraisable
    for number in STOPPING_SIGNALS:
        if signal.getsignal(number) is not signal.SIG_IGN:
            signal.signal(number, _raise_interrupted)


def exit_interrupted(error: KeyboardInterrupt) -> NoReturn:
    """Print ``interrupted by <signal>`` on stderr and exit with the signal's status.

    A plain KeyboardInterrupt (raised by Python's own SIGINT handler) counts as Ctrl-C.
    """
    name, code = SIGNAL_EXITS[getattr(error, "signum", signal.SIGINT)]
    print(f"interrupted by {name}", file=sys.stderr, flush=True)
    sys.exit(code)
