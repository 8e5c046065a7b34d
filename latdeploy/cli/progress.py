"""Stage progress bars for long CLI runs (on a terminal's stderr; ``--quiet`` turns them off)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click


@contextmanager
def stage_progress(stages: int, quiet: bool, label: str) -> Iterator[Callable[[str], None]]:
    """Yield a callback ``advance(stage_name)`` that moves a bar of ``stages`` steps on stderr;
    ``advance.detail(text)`` (see :func:`detail_of`) shows ``text`` beside the stage (chunks done,
    throughput) without moving the bar.

    With ``quiet``, or when stderr is not a terminal (pipes, logs, tests: errors stay one
    line there), the callback does nothing.
    """
    if quiet or not sys.stderr.isatty():
        yield lambda _name: None
        return
    with click.progressbar(length=stages, label=label, file=sys.stderr, show_pos=True) as bar:
        started = [False]

        current = [""]

        def advance(name: str) -> None:
            if started[0]:
                bar.update(1)
            started[0] = True
            current[0] = f"{label}: {name}"
            bar.label = current[0]
            bar.render_progress()

        def detail(text: str) -> None:
            bar.label = f"{current[0]} ({text})"
            bar.render_progress()

        advance.detail = detail  # type: ignore[attr-defined]
        yield advance
        bar.update(1)


def detail_of(advance: Callable[[str], None]) -> Callable[[str], None] | None:
    """Return the ``detail(text)`` callback of a :func:`stage_progress` callback (None when quiet)."""
    return getattr(advance, "detail", None)
