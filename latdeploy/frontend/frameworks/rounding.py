"""The warning a framework converter gives when it converts a neuron to the same network in another float order."""

from __future__ import annotations


class RoundingOrderWarning(UserWarning):
    """A framework neuron was converted to the same network in real arithmetic whose float32 rounding order
    differs from the framework's: a spike can differ where ``v`` lies within float32 rounding of the threshold."""
