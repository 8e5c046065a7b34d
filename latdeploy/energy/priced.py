"""Whether an energy report holds a figure at all.

A profile may leave its per-operation energies null where nothing is published (Xylo Audio 2:
``docs/xylo.md``); :func:`latdeploy.energy.counting.energy_from_counts` then counts them as 0 J and
lists them in ``missing_energy_fields``. A report that priced nothing says "n/a", never "0 uJ".
"""

from __future__ import annotations

from typing import Any


def unpriced(energy: dict[str, Any]) -> bool:
    """Return True when ``energy`` (``energy.json``'s content) priced nothing: its profile
    publishes none of the per-operation energies the counts use and no static power."""
    return bool(energy.get("missing_energy_fields")) and energy["energy_j"] == 0  # older reports lack the list
