"""Integer types as objects (QONNX style): ``IntType(24).max()``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IntType:
    """A two's-complement (``signed``) or unsigned integer of ``bits`` bits."""

    bits: int
    signed: bool = True

    def min(self) -> int:
        """Return the smallest representable value."""
        return -(1 << (self.bits - 1)) if self.signed else 0

    def max(self) -> int:
        """Return the largest representable value."""
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    def contains(self, value: int) -> bool:
        """Return whether ``value`` is representable."""
        return self.min() <= value <= self.max()
