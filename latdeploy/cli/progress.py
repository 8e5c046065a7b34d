"""Stage progress bars for long CLI runs (on stderr; ``--quiet`` turns them off)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click


@contextmanager
def stage_progress(stages: int, quiet: bool, label: str) -> Iterator[Callable[[str], None]]:
    """Yield a callback ``advance(stage_name)`` that moves a bar of ``stages`` steps on stderr.

    With ``quiet`` the callback does nothing.
    """
    if quiet:
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
