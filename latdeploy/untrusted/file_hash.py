"""SHA-256 of a file, streamed in chunks, with the file's size checked first: the one hash of
the files a bundle or data record names (model, profile, data files and shards)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from latdeploy.errors import LatdeployError, ModelFormatError

HASH_CHUNK_BYTES = 1 << 20
"""Bytes read at a time: memory stays bounded whatever the file's size."""


def sha256_of_file(path: Path, limit: int | None = None, error: type[LatdeployError] = ModelFormatError) -> str:
    """Return the hex SHA-256 of the file ``path``, read in chunks of :data:`HASH_CHUNK_BYTES`.

    Args:
        limit: the largest size in bytes to hash (None: no limit), checked before reading.
        error: the error class raised for a file that is too large or cannot be read.

    Raises:
        LatdeployError: of class ``error``, naming ``path``, if it is larger than ``limit`` or
            cannot be read.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if limit is not None and size > limit:
            raise error(f"{path}: file is {size} bytes, more than the limit of {limit}")
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(HASH_CHUNK_BYTES), b""):
                digest.update(chunk)
    except OSError as failure:
        raise error(f"{path}: cannot be read ({failure.strerror or failure})") from failure
    return digest.hexdigest()
