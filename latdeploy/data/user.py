"""The user's own data: an ``.npz`` file, a directory of ``.npz`` shards, or a ``module:function`` entry point.

An ``.npz`` holds ``x`` (inputs, first axis the samples) and optionally ``y`` (integer labels);
it is read with ``allow_pickle=False``. A directory holds such shards, read in sorted name order
and joined; the size of every array is read from its header and checked against a memory limit
before anything is loaded (the data is held in memory whole: evaluation does not stream yet).
An entry point ``package.module:function`` is imported and called without arguments; it returns
``(x, y)``, ``{"x": ..., "y": ...}``, an array ``x``, or a torch ``Dataset`` whose items are
``(x, y)`` pairs or ``x`` alone. An entry point runs the user's code, so it is only taken from
the command line or the Python API (:func:`read_user_data`), never from a file latdeploy reads.
"""

from __future__ import annotations

import importlib
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from latdeploy.errors import InputFormatError, one_line
from latdeploy.sim.budget import default_memory_limit
from latdeploy.untrusted.file_hash import sha256_of_file

ENTRY_POINT = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
"""``package.module:function``."""


@dataclass(frozen=True)
class UserData:
    """Arrays read from a user source: ``x`` (inputs), ``y`` (labels, or None), ``source`` (what was
    named), ``kind`` (``npz``, ``shards`` or ``entry_point``) and ``sha256`` (of the file, or one per
    shard in order; empty for an entry point)."""

    x: np.ndarray
    y: np.ndarray | None
    source: str
    kind: str
    sha256: tuple[str, ...]

    def record(self) -> dict[str, Any]:
        """Return the JSON record of this source (for ``manifest.json``)."""
        record: dict[str, Any] = {"source": self.source, "kind": self.kind, "samples": int(len(self.x))}
        if self.kind == "npz":
            record["sha256"] = self.sha256[0]
        elif self.kind == "shards":
            record["sha256"] = list(self.sha256)
        return record


def is_entry_point(spec: str) -> bool:
    """Return True when ``spec`` names ``module:function`` rather than a path."""
    return bool(ENTRY_POINT.match(spec)) and not Path(spec).exists()


def _array_bytes(path: Path) -> int:
    """Return the bytes the arrays of the ``.npz`` at ``path`` take once loaded (from their headers)."""
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                with archive.open(name) as member:
                    version = np.lib.format.read_magic(member)
                    if version not in ((1, 0), (2, 0)):
                        raise ValueError(f"member {name}: .npy format version {version} is not 1.0 or 2.0")
                    read_header = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else (np.lib.format.read_array_header_2_0)
                    )
                    shape, _order, dtype = read_header(member)
                total += int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise InputFormatError(f"{path}: not an .npz file of arrays ({one_line(error)[:200]})") from error
    return total


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Return ``(x, y)`` of the ``.npz`` at ``path`` (``y`` None when absent)."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            if "x" not in arrays.files:
                raise InputFormatError(f"{path}: field 'x' missing (the file holds {sorted(arrays.files)})")
            return arrays["x"], arrays["y"] if "y" in arrays.files else None
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise InputFormatError(f"{path}: not an .npz file of arrays ({one_line(error)[:200]})") from error


def _read_files(path: Path, memory_limit: int | None) -> UserData:
    if path.is_dir():
        files, kind = sorted(path.glob("*.npz")), "shards"
        if not files:
            raise InputFormatError(f"{path}: directory holds no .npz shards")
    elif path.is_file():
        files, kind = [path], "npz"
    else:
        raise InputFormatError(f"{path}: no such data file or directory (nor a module:function entry point)")
    limit = default_memory_limit() if memory_limit is None else memory_limit
    size = sum(_array_bytes(file) for file in files)
    if size > limit:
        raise InputFormatError(f"{path}: data takes {size} bytes in memory, more than the limit of {limit}")
    parts = [_read_npz(file) for file in files]
    labelled = {y is not None for _, y in parts}
    if len(labelled) > 1:
        raise InputFormatError(f"{path}: field 'y' is in some shards and not in others")
    try:
        x = np.concatenate([x for x, _ in parts]) if len(parts) > 1 else parts[0][0]
        y = None if labelled == {False} else np.concatenate([y for _, y in parts if y is not None])
    except ValueError as error:
        raise InputFormatError(f"{path}: shards do not join ({one_line(error)[:200]})") from error
    return UserData(x, y, str(path), kind, tuple(sha256_of_file(file, error=InputFormatError) for file in files))


def _arrays_of(result: Any, spec: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Return ``(x, y)`` from what an entry point returned."""
    if isinstance(result, dict):
        if "x" not in result:
            raise InputFormatError(f"{spec}: returned a dict without field 'x'")
        return np.asarray(result["x"]), None if result.get("y") is None else np.asarray(result["y"])
    if isinstance(result, tuple) and len(result) == 2:
        return np.asarray(result[0]), np.asarray(result[1])
    if isinstance(result, np.ndarray):
        return result, None
    if hasattr(result, "__getitem__") and hasattr(result, "__len__"):
        items = [result[i] for i in range(len(result))]
        if not items:
            raise InputFormatError(f"{spec}: returned an empty dataset")
        if all(isinstance(item, (tuple, list)) and len(item) == 2 for item in items):
            return np.stack([np.asarray(x) for x, _ in items]), np.asarray([int(y) for _, y in items])
        return np.stack([np.asarray(item) for item in items]), None
    raise InputFormatError(f"{spec}: returned {type(result).__name__}; expected (x, y), a dict, an array or a Dataset")


def _call_entry_point(spec: str) -> UserData:
    module_name, function_name = spec.split(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as error:
        raise InputFormatError(f"{spec}: cannot import the entry point ({one_line(error)[:200]})") from error
    x, y = _arrays_of(function(), spec)
    return UserData(x, y, spec, "entry_point", ())


def read_user_data(spec: str | Path, memory_limit: int | None = None) -> UserData:
    """Read the user's data named by ``spec``: an ``.npz`` path, a directory of ``.npz`` shards or
    ``module:function`` (called: it runs the user's code).

    ``memory_limit`` bounds the bytes files may take once loaded (None: half the available memory).

    Returns:
        The :class:`UserData` (not yet checked against a model: see :mod:`latdeploy.data.checks`).

    Raises:
        InputFormatError: for a missing, unreadable or oversized source, a file without ``x``,
            shards that do not join, or an entry point that cannot be imported or returns something else.
    """
    text = str(spec)
    if isinstance(spec, str) and is_entry_point(text):
        return _call_entry_point(text)
    return _read_files(Path(spec), memory_limit)
