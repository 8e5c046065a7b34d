"""Stage progress bars for long CLI runs (on a terminal's stderr; ``--quiet`` turns them off)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click


@contextmanager
def stage_progress(stages: int, quiet: bool, label: str) -> Iterator[Callable[[str], None]]:
    """Yield a callback ``advance(stage_name)`` that moves a bar of ``stages`` steps on stderr.

    With ``quiet``, or when stderr is not a terminal (pipes, logs, tests: errors stay one
    line there), the callback does nothing.
    """
    if quiet or not sys.stderr.isatty():
        yield lambda _name: None
        return
    with click.progressbar(length=stages, label=label, file=sys.stderr, show_pos=True) as bar:
        started = [False]

        def advance(name: str) -> None:
            if started[0]:
                bar.update(1)
            started[0] = True
            bar.label = f"{label}: {name}"
            bar.render_progress()

        yield advance
        bar.update(1)
