"""How many test samples a command evaluates: ``--samples N``, ``all``, or the default (up to 100).

The default is a ceiling, not a demand: a dataset with fewer test samples (the 36 of scikit-learn's
wine) is evaluated whole. A count the user gave is checked against the data.
"""

from __future__ import annotations

from latdeploy.errors import LatdeployError


class UpTo(int):
    """A default sample count: at most this many, all of them when the data holds fewer."""


def sample_count(requested: int | None, available: int, where: str = "the dataset") -> int:
    """Return the number of samples to evaluate out of ``available``.

    ``requested`` is None for all, an :class:`UpTo` for a default ceiling, or the user's count.

    Raises:
        LatdeployError: if the user's count lies outside ``1..available`` (naming ``where``).
    """
    if requested is None:
        return available
    if isinstance(requested, UpTo):
        return min(int(requested), available)
    if not 1 <= requested <= available:
        raise LatdeployError(f"--samples {requested} is outside 1..{available} (test samples of {where})")
    return int(requested)
