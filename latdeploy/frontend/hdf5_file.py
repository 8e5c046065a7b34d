"""HDF5 files (lava-dl netx ``.net``, NIR ``.nir``) checked before any dataset is read.

A few kilobytes of HDF5 can declare a dataset of any size (a compressed or never
written dataset costs nothing on disk), and readers that load every dataset in full
then allocate what the file declares. :func:`check_hdf5_file` walks the file's links
and reads only metadata: each dataset's declared shape and element size, its storage
(external raw-data files and virtual datasets that pull data from other files are
refused), and every link (external links to other files are refused). Walking is
bounded in depth and object count.

h5py comes with the 'lava' extra (``.net``) and with ``nir`` (``.nir``), so it is imported
only when a file is read or written (:func:`require_h5py`, the one place it is imported).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from latdeploy.errors import ModelFormatError, one_line

MAX_ELEMENTS = 1 << 26
"""The most values all datasets of one file may declare together (a Loihi 2 chip holds 16 Mi 8-bit weights)."""
MAX_BYTES = 1 << 30
"""The most bytes all datasets of one file may declare together."""
MAX_OBJECTS = 100_000
"""The most groups, datasets and links one file may hold."""
MAX_DEPTH = 32
"""The deepest nesting of groups."""


def require_h5py(action: str) -> Any:
    """Return the ``h5py`` module, imported now: h5py comes with the 'lava' extra, so it is deferred.

    Raises:
        ModelFormatError: ``<action> needs h5py`` if it is not installed.
    """
    try:
        import h5py
    except ImportError as error:
        raise ModelFormatError(f"{action} needs h5py: pip install 'latdeploy[lava]'") from error
    return h5py


def check_hdf5_file(path: Path, what: str) -> None:
    """Check the HDF5 file ``path`` (a ``what``, e.g. "netx .net file") before it is read.

    Raises:
        ModelFormatError: one line naming the file and the object, if the file is not
            readable HDF5, links to another file (external link, external storage,
            virtual dataset), nests groups deeper than :data:`MAX_DEPTH`, holds more than
            :data:`MAX_OBJECTS` objects, or its datasets declare more than
            :data:`MAX_ELEMENTS` values or :data:`MAX_BYTES` bytes in all.
    """
    h5py = require_h5py(f"reading {what}s")
    try:
        handle = h5py.File(path, "r")
    except Exception as error:  # h5py raises OSError and others for foreign files
        raise ModelFormatError(f"{path}: not a readable {what} ({one_line(error)})") from error
    with handle:
        try:
            _walk(h5py, handle, path)
        except ModelFormatError:
            raise
        except Exception as error:  # a corrupt object header: h5py raises many types
            raise ModelFormatError(f"{path}: not a readable {what} ({one_line(error)})") from error


def _walk(h5py: Any, root: Any, path: Path) -> None:
    stack: list[tuple[Any, int]] = [(root, 0)]
    objects = elements = size = 0
    while stack:
        group, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ModelFormatError(f"{path}: group {group.name!r} nests deeper than the limit of {MAX_DEPTH} levels")
        for key in group:
            objects += 1
            if objects > MAX_OBJECTS:
                raise ModelFormatError(f"{path}: holds more than the limit of {MAX_OBJECTS} HDF5 objects")
            where = f"{group.name.rstrip('/')}/{key}"
            link = group.get(key, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                raise ModelFormatError(
                    f"{path}: {where!r} is an external link to {link.filename!r}; links to other files are refused"
                )
            item = group.get(key)
            if isinstance(item, h5py.Group):
                stack.append((item, depth + 1))
            elif isinstance(item, h5py.Dataset):
                if item.external or item.is_virtual:
                    raise ModelFormatError(
                        f"{path}: dataset {where!r} keeps its data in other files; external storage is refused"
                    )
                count = math.prod(item.shape) if item.shape is not None else 0
                elements += count
                size += count * item.dtype.itemsize
                if elements > MAX_ELEMENTS or size > MAX_BYTES:
                    raise ModelFormatError(
                        f"{path}: dataset {where!r} declares shape {list(item.shape)} ({count} values, "
                        f"{count * item.dtype.itemsize} bytes): the file's datasets exceed the limit of "
                        f"{MAX_ELEMENTS} values / {MAX_BYTES} bytes"
                    )
