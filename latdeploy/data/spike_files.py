"""Reading input spike arrays (``.npy``) from untrusted files, with bounded memory.

:func:`load_spike_array` reads the ``.npy`` header first and checks dtype, shape and
size before any data is read, loads with ``allow_pickle=False`` (object arrays are
refused, never unpickled), then checks every value: spikes are integers in
``[0, max_value]`` (``0/1`` binary, or graded up to ``max_value``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from latdeploy.errors import InputFormatError

MAX_ELEMENTS = 2**28
"""The most values a spike array may hold (256 Mi: 256 MiB as uint8)."""
MAX_BYTES = 2**30
"""The most bytes a spike array file may hold (1 GiB)."""
MAX_DIMENSIONS = 6
MAGIC = b"\x93NUMPY"


def _read_header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """Return ``(shape, dtype, header_bytes)`` of the ``.npy`` file at ``path``.

    Raises:
        InputFormatError: if the file is not a readable ``.npy`` file.
    """
    try:
        with path.open("rb") as handle:
            if handle.read(len(MAGIC)) != MAGIC:
                raise InputFormatError(f"{path}: not a .npy file (no NumPy magic bytes); save it with numpy.save")
            handle.seek(0)
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(handle, max_header_size=10_000)
            elif version in ((2, 0), (3, 0)):
                shape, _, dtype = np.lib.format.read_array_header_2_0(handle, max_header_size=10_000)
            else:
                raise InputFormatError(f"{path}: unsupported .npy format version {version}")
            return tuple(shape), np.dtype(dtype), handle.tell()
    except InputFormatError:
        raise
    except OSError as error:
        raise InputFormatError(f"{path}: cannot be read ({error.strerror or error})") from error
    except Exception as error:  # numpy's header parser raises many types (ValueError, TokenError, ...)
        reason = " ".join(str(error).split())[:160] or type(error).__name__
        raise InputFormatError(f"{path}: malformed .npy header ({reason})") from error


def _check_shape(path: Path, shape: tuple[int, ...], expected_shape: Sequence[int | None] | None) -> None:
    if not 1 <= len(shape) <= MAX_DIMENSIONS or not all(isinstance(n, int) and n >= 1 for n in shape):
        raise InputFormatError(f"{path}: field 'shape' {shape} must have 1 to {MAX_DIMENSIONS} dimensions, each >= 1")
    if math.prod(shape) > MAX_ELEMENTS:
        raise InputFormatError(
            f"{path}: field 'shape' {shape} holds {math.prod(shape)} values, more than the limit of {MAX_ELEMENTS}"
        )
    if expected_shape is not None:
        expected = tuple(expected_shape)
        matches = len(shape) == len(expected) and all(e is None or e == n for n, e in zip(shape, expected, strict=True))
        if not matches:
            wanted = "(" + ", ".join("any" if e is None else str(e) for e in expected) + ")"
            raise InputFormatError(f"{path}: field 'shape' is {shape}, expected {wanted}")


def load_spike_array(
    path: str | os.PathLike[str],
    expected_shape: Sequence[int | None] | None = None,
    max_value: int = 255,
) -> np.ndarray:
    """Read a spike array from the ``.npy`` file ``path``.

    ``expected_shape`` gives the required size of each dimension (``None``: any
    size), e.g. ``(None, T, n)`` for ``[batch, time, neurons]``. Values must be
    integers in ``[0, max_value]``: ``max_value=1`` for binary spikes, larger for
    graded spikes. Boolean, integer and float arrays are accepted (floats must hold
    whole numbers).

    Returns:
        The array as ``uint8`` when ``max_value <= 255``, else ``int32``.

    Raises:
        InputFormatError: naming the file and the field (``dtype``, ``shape``,
            ``values``) that is wrong: not a ``.npy`` file, truncated, object or
            other non-numeric dtype, absurd or unexpected shape, NaN/inf, fractions,
            or values outside ``[0, max_value]``.
    """
    if not 1 <= max_value <= 2**31 - 1:
        raise InputFormatError(f"max_value {max_value} must lie in [1, 2**31 - 1]")
    path = Path(path)
    if not path.is_file():
        raise InputFormatError(f"{path}: no such input file")
    shape, dtype, header_bytes = _read_header(path)
    if dtype.kind not in "biuf" or dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise InputFormatError(f"{path}: field 'dtype' is {dtype}, expected bool, integer or float spikes")
    _check_shape(path, shape, expected_shape)
    data_bytes = math.prod(shape) * dtype.itemsize
    if data_bytes > MAX_BYTES:
        raise InputFormatError(f"{path}: field 'shape' {shape} of {dtype} needs {data_bytes} bytes, over {MAX_BYTES}")
    needed = header_bytes + data_bytes
    size = path.stat().st_size
    if size < needed:
        raise InputFormatError(f"{path}: truncated ({size} bytes, the header promises {needed})")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        reason = " ".join(str(error).split())[:160] or type(error).__name__
        raise InputFormatError(f"{path}: cannot be loaded ({reason})") from error
    if dtype.kind == "f":
        if not np.isfinite(array).all():
            raise InputFormatError(f"{path}: field 'values' holds NaN or infinite values")
        if not (array == np.trunc(array)).all():
            raise InputFormatError(f"{path}: field 'values' holds fractions; spikes are whole numbers")
    if array.size and (array.min() < 0 or array.max() > max_value):
        raise InputFormatError(
            f"{path}: field 'values' spans [{array.min()}, {array.max()}], outside the spike range [0, {max_value}]"
        )
    return array.astype(np.uint8 if max_value <= 255 else np.int32)
