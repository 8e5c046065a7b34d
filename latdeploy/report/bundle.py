"""Write a bundle directory atomically: everything goes to a temporary sibling
directory, which then replaces ``out`` in one rename. Nothing half-written is
ever left at ``out``, and no temporary directory either: an error, Ctrl-C or
SIGTERM (which the CLI turns into an exception) removes it on the way out, and
the swap of an old bundle for the new one runs with those signals held back."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

INTERRUPTS = {signal.SIGINT, signal.SIGTERM}


def dump_json(data: Any) -> str:
    """Return deterministic JSON text (sorted keys, two-space indent, trailing newline).

    Always valid JSON: ``NaN`` and infinities are refused (``ValueError``), never written as
    the non-JSON ``NaN``/``Infinity``; producers keep their numbers finite.
    """
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back in the block; they are delivered (and handled) right after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _sync(directory: Path) -> None:
    """Flush every file in ``directory`` and the directory itself to disk."""
    for path in directory.iterdir():
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Context manager: yield a temporary path beside ``path`` to write one file into.

    On leaving without error the file becomes mode 644 and is renamed to ``path``;
    on any error it is removed and ``path`` is left as it was.
    """
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(descriptor)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def write_bundle(out: Path, writers: dict[str, Callable[[Path], Any]]) -> Path:
    """Create ``out`` with one file per ``writers`` entry (``name -> writer(path)``).

    Returns:
        ``out``. An existing ``out`` is replaced only after every file was written
        and flushed to disk.

    Raises:
        Whatever a writer raises (KeyboardInterrupt included); the temporary
        directory is removed first and an existing ``out`` is left as it was.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        for name, writer in writers.items():
            writer(staging / name)
        os.chmod(staging, 0o755)
        _sync(staging)
        with _interrupts_held():
            if out.exists():
                retired = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".old"))
                os.replace(out, retired / out.name)
                os.replace(staging, out)
                shutil.rmtree(retired)
            else:
                os.replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return out
