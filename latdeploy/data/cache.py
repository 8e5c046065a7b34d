"""An on-disk cache of generated data sets: arrays keyed by what generated them.

A generated split (:mod:`latdeploy.data.events`, ~2 s per load; :mod:`latdeploy.data.digits`,
whose scikit-learn import alone takes ~1 s) is stored once as
``<cache>/<name>-<key>.npz``, where ``<cache>`` is ``$LATDEPLOY_CACHE_DIR``, else
``$XDG_CACHE_HOME/latdeploy``, else ``~/.cache/latdeploy``, and ``<key>`` the SHA-256 of
the generator's parameters, the bytes of its source file and the versions of the libraries
that compute the data (numpy, scipy, and e.g. scikit-learn for the digits): any change to
the code or those libraries makes a new key.

Files are written atomically (a temporary file in the cache directory, then
``os.replace``) and validated on every read: read with ``allow_pickle=False`` (never
unpickled), they must hold exactly the expected arrays and a SHA-256 of their bytes that
matches. A file that fails any check is regenerated and replaced; a cache that cannot be
written (read-only, full disk) is skipped: the data are then generated on every load.
``LATDEPLOY_CACHE_DIR=""`` (empty) turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

CACHE_VARIABLE = "LATDEPLOY_CACHE_DIR"
DIGEST = "sha256"
"""The array in a cache file that holds the SHA-256 of the others' names, dtypes, shapes and bytes."""


def cache_directory() -> Path | None:
    """Return the cache directory (not created here); ``None`` if ``LATDEPLOY_CACHE_DIR`` is empty."""
    configured = os.environ.get(CACHE_VARIABLE)
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "latdeploy"


LIBRARIES = ("numpy", "scipy")
"""The distributions whose versions are part of every key (those that compute the data)."""


def cache_key(parameters: dict[str, Any], source: Path, libraries: tuple[str, ...] = ()) -> str:
    """Return the hex SHA-256 of ``parameters`` (JSON-serialisable), the bytes of ``source`` (the
    generator's module) and the versions of :data:`LIBRARIES` and ``libraries`` (distribution names)."""
    identity = {
        "parameters": parameters,
        "source": hashlib.sha256(source.read_bytes()).hexdigest(),
        **{library: version(library) for library in sorted({*LIBRARIES, *libraries})},
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def _digest(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Return the SHA-256 of ``arrays`` (names, dtypes, shapes, bytes) as a ``uint8 [32]`` array."""
    hasher = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        hasher.update(json.dumps([name, array.dtype.str, list(array.shape)]).encode())
        hasher.update(array.tobytes())
    return np.frombuffer(hasher.digest(), np.uint8)


def _read(path: Path, names: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    """Return the arrays ``names`` of the cache file ``path``, or ``None`` if it is missing or fails a check."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            if sorted(stored.files) != sorted((*names, DIGEST)):
                return None
            arrays = {name: stored[name] for name in names}
            digest = stored[DIGEST]
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        return None
    if digest.dtype != np.uint8 or not np.array_equal(digest, _digest(arrays)):
        return None
    return arrays


def _write(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` (and their digest) to ``path`` atomically; give up silently if the cache is not writable."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(descriptor, "wb") as file:
            np.savez_compressed(file, **arrays, **{DIGEST: _digest(arrays)})
        os.replace(temporary, path)
        temporary = None
    except OSError:
        pass
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def cached_arrays(
    name: str,
    parameters: dict[str, Any],
    source: Path,
    names: tuple[str, ...],
    generate: Callable[[], dict[str, np.ndarray]],
    libraries: tuple[str, ...] = (),
) -> dict[str, np.ndarray]:
    """Return the arrays ``names`` that ``generate()`` gives, from the cache file of ``name`` and
    :func:`cache_key` (of ``parameters``, ``source``, ``libraries``) when it is there and valid, else
    generated and stored.

    Returns:
        The arrays by name (the same dtypes, shapes and values ``generate`` gives).

    Raises:
        ValueError: if ``generate`` does not return exactly the arrays ``names``.
    """
    directory = cache_directory()
    if directory is None:
        return generate()
    path = directory / f"{name}-{cache_key(parameters, source, libraries)}.npz"
    arrays = _read(path, names)
    if arrays is None:
        arrays = generate()
        if sorted(arrays) != sorted(names):
            raise ValueError(f"the generator of {name!r} gave arrays {sorted(arrays)}, not {sorted(names)}")
        _write(path, arrays)
    return arrays
