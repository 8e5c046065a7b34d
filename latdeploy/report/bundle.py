"""Write a bundle directory atomically: everything goes to a temporary sibling
directory, which then replaces ``out`` in one rename. Nothing half-written is
ever left at ``out``, and no temporary directory either: an error, Ctrl-C,
SIGTERM or SIGHUP (which the CLI turns into exceptions) removes it on the way out,
and the swap of an old bundle for the new one runs with those signals held back.

Temporary siblings are named ``.NAME.PID.RANDOM.tmp`` (``.old`` for a retired bundle): the
next write beside them removes those of a run that was killed (:mod:`latdeploy.report.stale_state`).
An :class:`OSError` while writing (no space, read-only, permission, ...) becomes an
:class:`~latdeploy.errors.OutputPathError` naming the output
(:func:`latdeploy.report.output_paths.writing`). Which paths may be written at all is
:mod:`latdeploy.report.output_paths`' concern; :func:`write_bundle` itself never replaces a
directory that is not a latdeploy bundle.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from latdeploy.errors import STOPPING_SIGNALS, OutputPathError, raise_if_interrupted
from latdeploy.report.output_paths import is_latdeploy_directory, writing
from latdeploy.report.stale_state import remove_stale

BUNDLE_PROFILE_FILE = "profile.yaml"
"""The copy of the hardware profile an export bundle was built for (``manifest.json``'s
``profile.file``), so that ``verify``/``energy`` of the bundle need no other file."""
BUNDLE_MODEL_FILE = "model.pt"
"""The copy of the model file an export bundle was made from (``manifest.json``'s ``model.file``):
its encoder and dataset are what ``verify BUNDLE`` re-runs."""


def dump_json(data: Any) -> str:
    """Return deterministic JSON text (sorted keys, two-space indent, trailing newline).

    Always valid JSON: ``NaN`` and infinities are refused (``ValueError``), never written as
    the non-JSON ``NaN``/``Infinity``; producers keep their numbers finite.
    """
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP back in the block; they are delivered (and handled) right after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING_SIGNALS)
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


def _temporary_prefix(path: Path) -> str:
    """Return the name prefix of ``path``'s temporary siblings (``.NAME.PID.``), first removing
    those whose owner process is gone."""
    remove_stale(path.parent, re.compile(rf"\.{re.escape(path.name)}\.(?P<pid>\d+)\.[A-Za-z0-9_]+\.(tmp|old)"))
    return f".{path.name}.{os.getpid()}."


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Context manager: yield a temporary path beside ``path`` to write one file into.

    On leaving without error the file becomes mode 644 and is renamed to ``path``;
    on any error it is removed and ``path`` is left as it was. Missing parent directories
    are created.

    Raises:
        OutputPathError: for an OSError while creating, writing or renaming the file.
    """
    path = Path(path)
    temporary = None
    with writing(path):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=_temporary_prefix(path), suffix=".tmp")
            os.close(descriptor)
            yield Path(temporary)
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        finally:
            if temporary is not None and os.path.exists(temporary):
                os.unlink(temporary)


def write_bundle(out: Path, writers: dict[str, Callable[[Path], Any]]) -> Path:
    """Create ``out`` with one file per ``writers`` entry (``name -> writer(path)``).

    Returns:
        ``out``. An existing ``out`` (a latdeploy bundle, an empty directory or a file) is
        replaced only after every file was written and flushed to disk.

    Raises:
        OutputPathError: if ``out`` is a directory holding files latdeploy did not write, or
            for an OSError while writing (no space, read-only, ...).
        Whatever a writer raises (KeyboardInterrupt included); the temporary
        directory is removed first and an existing ``out`` is left as it was.
    """
    out = Path(out)
    if out.is_dir() and not out.is_symlink() and any(out.iterdir()) and not is_latdeploy_directory(out):
        raise OutputPathError(f"{out}: a directory that holds files latdeploy did not write; it is left as it is")
    staging = None
    with writing(out):
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            prefix = _temporary_prefix(out)
            staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=prefix, suffix=".tmp"))
            for name, writer in writers.items():
                writer(staging / name)
            os.chmod(staging, 0o755)
            _sync(staging)
            raise_if_interrupted()
            with _interrupts_held():
                if out.exists() or out.is_symlink():
                    retired = Path(tempfile.mkdtemp(dir=out.parent, prefix=prefix, suffix=".old"))
                    os.replace(out, retired / out.name)
                    os.replace(staging, out)
                    shutil.rmtree(retired)
                else:
                    os.replace(staging, out)
        finally:
            if staging is not None and staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return out
