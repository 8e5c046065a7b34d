"""The keys of ``parity.json``, and the one function that reads a report of any schema version.

Reports name the hardware run by role, not by backend: ``"hardware": "<backend name>"`` says
which backend ran it (:mod:`latdeploy.backends`), and every key that compares against it says
``hardware`` (``fixed_vs_hardware``, ``hardware_samples``, ``spikes_hardware``, the run
``"hardware"`` in ``accuracy`` and ``decision_latency``, ...). Reports written before backends
were pluggable (latdeploy 0.1 bundles) said ``lava`` in those places instead
(``fixed_vs_lava``, ``lava_samples``, ...). Every reader of a parity report (the CLI summaries,
the HTML report, :func:`latdeploy.verify.parity.parity_ok`) goes through
:func:`upgrade_parity`, so those bundles stay readable.
"""

from __future__ import annotations

from typing import Any

from latdeploy.report.schema_versions import PARITY, check_version

OLD_HARDWARE = "lava"
"""The backend every report without a ``"hardware"`` key was run on."""

TOP_LEVEL_RENAMES = {
    "lava_samples": "hardware_samples",
    "fixed_vs_lava": "fixed_vs_hardware",
    "float_vs_fixed_on_lava_samples": "float_vs_fixed_on_hardware_samples",
    "output_state_vs_lava": "output_state_vs_hardware",
    "accuracy_on_lava_samples": "accuracy_on_hardware_samples",
}
RUN_TABLES = ("accuracy", "accuracy_on_hardware_samples", "decision_latency")
"""Top-level tables keyed by run (``float``, ``fixed``, ``hardware``; formerly ``lava``)."""
AGREEMENT_RENAMES = {"fixed_vs_lava": "fixed_vs_hardware", "float_vs_lava": "float_vs_hardware"}
LAYER_RENAMES = {
    "spikes_lava": "spikes_hardware",
    "mismatches_fixed_vs_lava": "mismatches_fixed_vs_hardware",
    "agreement_fixed_vs_lava": "agreement_fixed_vs_hardware",
    "per_step_agreement_fixed_vs_lava": "per_step_agreement_fixed_vs_hardware",
    "first_spike_shift_fixed_vs_lava": "first_spike_shift_fixed_vs_hardware",
}
ROBUSTNESS_RENAMES = {"fixed_vs_lava": "fixed_vs_hardware"}
AVAILABLE = {"available": True, "reason": None}
"""``float_run`` and ``labels`` of a report written before version 3 (which always had both)."""


def _renamed(table: dict[str, Any], renames: dict[str, str]) -> dict[str, Any]:
    return {renames.get(key, key): value for key, value in table.items()}


def _runs(table: dict[str, Any]) -> dict[str, Any]:
    return _renamed(table, {OLD_HARDWARE: "hardware"})


def upgrade_parity(report: dict[str, Any]) -> dict[str, Any]:
    """Return ``report`` (a parity report, old or current schema) in the current schema.

    A current report (or an unversioned one with the current keys) is returned as it is; one written
    before version 3 with ``float_run`` and ``labels`` added (both available); an old one
    (``fixed_vs_lava`` ...) as a new dict with every key renamed, ``"hardware": "lava"`` and
    ``accuracy_samples`` (from ``samples`` and ``hardware_samples``) added; ``report`` itself is not
    changed.

    Raises:
        ModelFormatError: for a ``schema_version`` newer than :data:`~latdeploy.report.schema_versions.PARITY`.
    """
    check_version(report, PARITY, "parity report")
    if "float_run" not in report:  # before version 3 every report had a float run and labels
        report = {**report, **{key: dict(AVAILABLE) for key in ("float_run", "labels")}}
    if "hardware" in report:
        return report
    upgraded = _renamed(report, TOP_LEVEL_RENAMES)
    upgraded["hardware"] = OLD_HARDWARE
    for name in RUN_TABLES:
        if name in upgraded:
            upgraded[name] = _runs(upgraded[name])
    if "accuracy" in upgraded and "accuracy_samples" not in upgraded:
        samples = upgraded["samples"]
        hardware = upgraded.get("hardware_samples", samples)
        upgraded["accuracy_samples"] = {"float": samples, "fixed": samples, "hardware": hardware}
    if "decision_agreement" in upgraded:
        upgraded["decision_agreement"] = _renamed(upgraded["decision_agreement"], AGREEMENT_RENAMES)
    if "layers" in upgraded:
        upgraded["layers"] = [_renamed(layer, LAYER_RENAMES) for layer in upgraded["layers"]]
    if "robustness" in upgraded:
        upgraded["robustness"] = [
            {**_renamed(entry, ROBUSTNESS_RENAMES), "accuracy": _runs(entry["accuracy"])}
            for entry in upgraded["robustness"]
        ]
    return upgraded
