"""Shared checks for the reader fuzz tests: a reader either succeeds or refuses cleanly."""

from __future__ import annotations

import contextlib
import resource
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from latdeploy.errors import LatdeployError

SECONDS_PER_EXAMPLE = 20
MEMORY_GROWTH_LIMIT_BYTES = 1 << 30


class ReaderHung(Exception):
    """A reader ran longer than :data:`SECONDS_PER_EXAMPLE` on one input."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`ReaderHung` in the block if it runs longer than ``seconds``."""

    def expire(_signum: int, _frame: Any) -> None:
        raise ReaderHung(f"reader still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def read_or_refuse(read: Callable[[], Any], path: Path) -> LatdeployError | None:
    """Run ``read()``; return None if it succeeded, or the LatdeployError it raised.

    A refusal must be one line naming ``path`` (its file name at least). Any other
    exception, or a run over the time limit, propagates and fails the test.
    """
    try:
        with time_limit(SECONDS_PER_EXAMPLE):
            read()
    except LatdeployError as error:
        message = str(error)
        assert "\n" not in message, f"multi-line message: {message!r}"
        assert path.name in message, f"message does not name the file {path.name}: {message!r}"
        assert len(message) < 600, f"message too long ({len(message)} characters)"
        return error
    return None


def peak_rss_bytes() -> int:
    """Return this process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
