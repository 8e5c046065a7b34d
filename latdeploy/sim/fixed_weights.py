"""Synaptic weights laid out for the fixed-point kernels, prepared once per node and reused while it is unchanged.

Preparing a Dense's weights (Lava's clipping and truncation, :func:`latdeploy.sim.fixed.lava_weights`;
the transpose the event kernels read, in the accumulator type; the float64 copy of the matrix path;
the widest sum over one output's fan-in, which picks the accumulator) costs more than simulating a
few hundred steps of an N-TIDIGITS-sized layer. :func:`prepared` keeps one preparation per node:
it returns the kept one while the node is alive and every array and number it was built from equals
(by value, compared on every call) what it was then; a node whose weights were changed in place or
replaced, or a new node that reuses a dead one's ``id``, is prepared anew. Entries go when their
node is garbage-collected.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


@dataclass
class DenseWeights:
    """A Dense's integer weight ``[out, in]`` (as Lava stores it) and the layouts the kernels read.

    ``fan_in_sum`` is the largest sum of ``|weight|`` over one output's fan-in; the transposed
    layouts are made on first use and kept (:meth:`transposed`, :meth:`matrix`).
    """

    weight: np.ndarray
    fan_in_sum: int
    _layouts: dict[Any, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, weight: np.ndarray) -> DenseWeights:
        """Return the preparation of the integer ``weight`` ``[out, in]`` (not copied; do not change it after)."""
        weight = np.asarray(weight)
        largest = int(np.abs(weight.astype(np.int64)).sum(axis=1).max()) if weight.size else 0
        return cls(weight=weight, fan_in_sum=largest)

    def accumulator(self, largest_payload: int) -> type:
        """Return ``np.int32`` if no sum of ``|payload| * |weight|`` over one output's fan-in can reach 2**31
        for payloads up to ``largest_payload`` in magnitude, else ``np.int64``."""
        return np.int32 if largest_payload * self.fan_in_sum < 1 << 31 else np.int64

    def transposed(self, dtype: type) -> np.ndarray:
        """Return the weight transposed to ``[in, out]``, C-contiguous, in ``dtype`` (kept after the first call)."""
        key = np.dtype(dtype)
        if key not in self._layouts:
            self._layouts[key] = np.ascontiguousarray(self.weight.T, dtype=dtype)
        return self._layouts[key]

    def matrix(self) -> np.ndarray:
        """Return the weight transposed to ``[in, out]`` as float64 (exact), for the matrix-product path."""
        return self.transposed(np.float64)


@dataclass(frozen=True)
class _Entry:
    node: weakref.ref
    inputs: tuple[Any, ...]
    value: Any


_PREPARED: dict[tuple[int, str], _Entry] = {}


def prepared(node: object, what: str, inputs: tuple[Any, ...], build: Callable[[], T]) -> T:
    """Return ``build()`` for ``node``, kept under ``what`` and reused while ``inputs`` are unchanged.

    ``inputs`` are everything ``build`` reads (arrays and plain values); they are copied when
    kept and compared by value (arrays also by dtype and shape) on every call. The kept value
    must not be changed by its users.

    Returns:
        The kept value if ``node`` is the same live object and ``inputs`` equal the kept copies,
        else a fresh ``build()`` (which is then kept).
    """
    key = (id(node), what)
    entry = _PREPARED.get(key)
    if entry is not None and entry.node() is node and _same(entry.inputs, inputs):
        return entry.value
    value = build()
    snapshot = tuple(np.array(item, copy=True) if isinstance(item, np.ndarray) else item for item in inputs)
    if entry is None or entry.node() is not node:
        weakref.finalize(node, _PREPARED.pop, key, None)
    _PREPARED[key] = _Entry(weakref.ref(node), snapshot, value)
    return value


def _same(kept: tuple[Any, ...], now: tuple[Any, ...]) -> bool:
    if len(kept) != len(now):
        return False
    for old, new in zip(kept, now, strict=True):
        if isinstance(old, np.ndarray):
            if not (
                isinstance(new, np.ndarray)
                and old.dtype == new.dtype
                and old.shape == new.shape
                and np.array_equal(old, new)
            ):
                return False
        elif isinstance(new, np.ndarray) or type(old) is not type(new) or old != new:
            return False
    return True
