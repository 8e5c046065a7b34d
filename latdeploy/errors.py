"""The one error hierarchy of latdeploy.

Every error a user can cause is a :class:`LatdeployError`; its message names the
file or node, the offending value and the limit, and says what to do. The CLI
prints the message without a traceback and exits with :data:`EXIT_USER_ERROR`.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

EXIT_OK = 0
EXIT_INTERNAL_ERROR = 1
EXIT_USER_ERROR = 2
EXIT_PARITY_FAILURE = 3
EXIT_GATE_FAILURE = 4
"""A verdict gate failed (:mod:`latdeploy.verify.gates`): too much accuracy lost or too few decisions
kept in fixed point, while the hardware matched the fixed-point simulator."""
EXIT_INTERRUPTED = 130
"""Stopped by Ctrl-C (SIGINT): 128 + 2, as shells report it."""
EXIT_TERMINATED = 143
"""Stopped by SIGTERM: 128 + 15."""
EXIT_HANGUP = 129
"""Stopped by SIGHUP (the terminal was closed): 128 + 1."""


class LatdeployError(Exception):
    """Base class of every error caused by the user's input."""


class ModelFormatError(LatdeployError):
    """A model, graph or profile file is missing, malformed or not a latdeploy file."""


class InputFormatError(LatdeployError):
    """An input data file (e.g. a spike array ``.npy``) is missing, malformed or out of bounds."""


class UnsupportedLayerError(LatdeployError):
    """A layer or neuron kind has no IR node or no mapping to the target."""


class QuantizationRangeError(LatdeployError):
    """A value does not fit the integer range a hardware profile allows."""


class ResourceError(LatdeployError):
    """A network does not fit the cores or memory of a hardware profile."""


class ProfileError(LatdeployError):
    """A hardware profile is missing or fails schema validation."""


class BackendError(LatdeployError):
    """A backend (e.g. Lava) is not installed or failed to run the network."""


class OutputPathError(LatdeployError):
    """An output path would destroy something that is not latdeploy's, or writing there failed
    (no space, read-only, permission, name too long, not a directory, ...)."""


STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""The signals that stop a command (:class:`Interrupted`); cleanup blocks, Lava's children and the
bundle writer hold or ignore exactly these."""


class Interrupted(KeyboardInterrupt):
    """A stopping signal (``signum``: SIGINT, SIGTERM or SIGHUP), raised so that it unwinds like Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_PENDING_SIGNALS: list[int] = []


def note_interrupt(signum: int) -> None:
    """Record that stopping signal ``signum`` arrived (before its handler raises :class:`Interrupted`)."""
    _PENDING_SIGNALS.append(signum)


def raise_if_interrupted() -> None:
    """Raise :class:`Interrupted` again if a stopping signal arrived and its exception was swallowed.

    Python ignores an exception raised inside some callbacks (an at-fork hook, a finalizer), so a
    signal handled at that moment would be lost; the places that start child processes or write
    results call this afterwards.

    Raises:
        Interrupted: for the first signal recorded by :func:`note_interrupt`.
    """
    if _PENDING_SIGNALS:
        raise Interrupted(_PENDING_SIGNALS[0])


MALFORMED_FILE_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError)


def one_line(error: BaseException) -> str:
    """Return ``error`` as ``Type: message`` on one line (message cut to 200 characters)."""
    reason = " ".join(str(error).split())[:200]
    return f"{type(error).__name__}: {reason}" if reason else type(error).__name__


@contextmanager
def naming_file(path: Path, what: str) -> Iterator[None]:
    """Context manager for interpreting the untrusted file ``path`` (a ``what``, e.g. "NIR file").

    Raises:
        LatdeployError: the same subclass, its message prefixed with ``path`` unless it names it.
        ModelFormatError: for the built-in exceptions a malformed file provokes
            (:data:`MALFORMED_FILE_ERRORS`), as one line naming ``path``.
    """
    try:
        yield
    except LatdeployError as error:
        if path.name in str(error):
            raise
        raise type(error)(f"{path}: {error}") from error
    except MALFORMED_FILE_ERRORS as error:
        raise ModelFormatError(f"{path}: malformed {what} ({one_line(error)})") from error
