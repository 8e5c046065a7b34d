"""The ``schema_version`` of every JSON artefact latdeploy writes: one constant per schema.

A file's ``schema_version`` says which of its layouts (``docs/schemas.md``) it follows; a change
that renames or removes a field, or changes a field's meaning, raises that schema's constant.
Files written before versions existed have no ``schema_version``; readers take them as the
previous layout (:func:`latdeploy.verify.schema.upgrade_parity` for ``parity.json``; the other
files kept their fields) and refuse a version newer than they know (:func:`check_version`).
"""

from __future__ import annotations

from typing import Any

from latdeploy.errors import ModelFormatError

PARITY = 3
"""``parity.json`` (and ``verify --json``): 3 added ``float_run`` and ``labels`` (``{available,
reason}``): an integer file's report has null float values, data without labels null accuracies,
and a gate may be not applicable (``passed`` null); 2 added ``gates``; unversioned files are 1 (the first
ones name the hardware ``lava``, :mod:`latdeploy.verify.schema`)."""
ENERGY = 1
"""``energy.json`` (one profile's pricing) and ``energy --json`` (``{counts, profiles}``)."""
MAPPING = 1
"""``mapping.json``: cores per layer and the binding limits."""
MANIFEST = 1
"""A bundle's ``manifest.json``: 1 added the bundle's own ``profile.yaml`` and ``model.pt``."""
QUANTIZATION = 1
"""``quantization.json``: ``{schema_version, layers: [...]}``, the per-layer scales and exponents
(the unversioned file was the bare list of layers)."""
SWEEP = 1
"""``sweep.json`` (and ``sweep --json``): 1 added ``gates``, ``accuracy_floor`` and ``below_floor``."""
RUN = 1
"""``run --json``: one run's summary."""
EXPORT = 1
"""``export --json``: the bundle's reports and timings."""


def versioned(document: dict[str, Any], version: int) -> dict[str, Any]:
    """Return ``document`` with ``schema_version`` set to ``version`` (a new dict; first key)."""
    return {"schema_version": version, **{k: v for k, v in document.items() if k != "schema_version"}}


def check_version(document: dict[str, Any], current: int, where: str) -> None:
    """Accept ``document`` (read from ``where``) if it has no ``schema_version`` or one up to ``current``.

    Raises:
        ModelFormatError: for a ``schema_version`` that is not an integer, or newer than ``current``
            (written by a newer latdeploy).
    """
    version = document.get("schema_version", current)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFormatError(f"{where}: field 'schema_version' must be a positive integer, got {version!r}")
    if version > current:
        raise ModelFormatError(
            f"{where}: schema_version {version} is newer than this latdeploy reads ({current}); upgrade latdeploy"
        )
