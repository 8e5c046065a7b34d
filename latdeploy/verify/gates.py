"""Verdict gates: whether a quantized network is good enough, not only whether the chip matches it.

Parity (:func:`latdeploy.verify.parity.parity_ok`) says that the hardware run equals the
fixed-point simulator spike for spike; a 2-bit network that has collapsed to chance passes it.
The gates say whether the fixed-point network still does the float model's job:

* **accuracy drop**: float accuracy minus fixed-point accuracy, in percentage points, over the
  same (all verified) samples, at most ``max_accuracy_drop`` (default
  :data:`DEFAULT_MAX_ACCURACY_DROP`);
* **decision agreement**: the fraction of samples on which the fixed-point network decides the
  same class as the float model, at least ``min_agreement`` (default :data:`DEFAULT_MIN_AGREEMENT`).

Each gate's entry (:func:`evaluate_gates`) is stored in ``parity.json`` under ``gates``, printed
in the CLI's ``verdict`` line and drawn in the HTML headline. A failed gate makes the command exit
with :data:`latdeploy.errors.EXIT_GATE_FAILURE` (a parity failure, the more basic fault, takes
precedence with :data:`latdeploy.errors.EXIT_PARITY_FAILURE`). See ``docs/verdicts.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from latdeploy.errors import LatdeployError

DEFAULT_MAX_ACCURACY_DROP = 1.0
"""Percentage points of accuracy the fixed-point network may lose against the float model. At
the default 100 verified samples this allows one sample; the shipped models lose none at their
profile's 8-bit weights, and a 2-bit collapse loses tens of points."""
DEFAULT_MIN_AGREEMENT = 0.95
"""Fraction of samples on which the fixed-point and float decisions must be the same class. The
shipped models at 8 bits agree on 98.6 % (digits_ttfs_convnet, whose fixed-point accuracy equals
its float accuracy) to 100 % of the 360 test samples, so 0.99 would fail a sound export; a 2-bit
collapse agrees on 10-20 %. Losses in between are the accuracy gate's to catch."""


@dataclass(frozen=True)
class Gates:
    """The limits a verified network must meet: ``max_accuracy_drop`` (percentage points, >= 0)
    and ``min_agreement`` (a fraction in 0..1).

    Raises:
        LatdeployError: for a limit out of its range or not finite.
    """

    max_accuracy_drop: float = DEFAULT_MAX_ACCURACY_DROP
    min_agreement: float = DEFAULT_MIN_AGREEMENT

    def __post_init__(self) -> None:
        if not math.isfinite(self.max_accuracy_drop) or not 0 <= self.max_accuracy_drop <= 100:
            raise LatdeployError(f"--max-accuracy-drop {self.max_accuracy_drop} is outside 0..100 (points)")
        if not math.isfinite(self.min_agreement) or not 0 <= self.min_agreement <= 1:
            raise LatdeployError(f"--min-agreement {self.min_agreement} is outside 0..1 (a fraction)")

    def accuracy_floor(self, float_accuracy: float) -> float:
        """Return the lowest fixed-point accuracy (a fraction) that passes the accuracy gate for a
        float model of ``float_accuracy``."""
        return float_accuracy - self.max_accuracy_drop / 100


def _accuracy_drop_points(float_accuracy: float, fixed_accuracy: float) -> float:
    """The drop in percentage points, rounded to 1e-9 so that 0.97 - 0.96 is 1.0 and not 1.0000000000000009."""
    return round(100 * (float_accuracy - fixed_accuracy), 9)


def evaluate_gates(report: dict[str, Any], gates: Gates) -> dict[str, Any]:
    """Judge a parity report (current schema, :func:`latdeploy.verify.schema.upgrade_parity`) by ``gates``.

    A gate that cannot be judged (an integer file has no float run; data without labels no accuracy)
    is not applicable: ``measured`` and ``passed`` null and a ``reason``; it neither passes nor fails.

    Returns:
        ``{passed, checks: [{name, measured, limit, unit, passed, samples}, ...]}`` with one check
        ``accuracy_drop`` (float minus fixed accuracy, percentage points; ``limit`` the largest
        allowed) and one ``decision_agreement`` (float/fixed, a fraction; ``limit`` the smallest
        allowed), both over the report's ``samples``; ``passed`` is whether no applicable check failed.
    """
    accuracy, samples = report["accuracy"], report["samples"]
    agreement = report["decision_agreement"]["float_vs_fixed"]
    missing = _not_applicable(report)
    drop = None if missing else _accuracy_drop_points(accuracy["float"], accuracy["fixed"])
    checks = [
        {
            "name": "accuracy_drop",
            "measured": drop,
            "limit": gates.max_accuracy_drop,
            "unit": "points",
            "passed": None if drop is None else drop <= gates.max_accuracy_drop,
            "samples": samples,
        },
        {
            "name": "decision_agreement",
            "measured": agreement,
            "limit": gates.min_agreement,
            "unit": "fraction",
            "passed": None if agreement is None else agreement >= gates.min_agreement,
            "samples": samples,
        },
    ]
    for check in checks:
        if check["passed"] is None:
            check["reason"] = missing or report.get("float_run", {}).get("reason")
    return {"passed": all(check["passed"] is not False for check in checks), "checks": checks}


def _not_applicable(report: dict[str, Any]) -> str | None:
    """Why the accuracy gate cannot be judged (no float run, no labels), or None when it can."""
    for key in ("float_run", "labels"):
        entry = report.get(key) or {}
        if entry.get("available") is False:
            return str(entry.get("reason"))
    return None


def gates_ok(report: dict[str, Any]) -> bool:
    """Return whether every gate in ``report["gates"]`` passed (True for a report without gates,
    written before they existed)."""
    return bool(report.get("gates", {}).get("passed", True))


def describe_check(check: dict[str, Any]) -> str:
    """One gate as text: ``accuracy drop 86.67 points <= 1.00 [FAILED]`` or
    ``decision agreement 16.00 % >= 99.00 % [OK]``; a gate that is not applicable:
    ``accuracy drop not applicable (n/a (integer file): ...) [N/A]``."""
    if check["passed"] is None:
        name = "accuracy drop" if check["unit"] == "points" else "decision agreement"
        return f"{name} not applicable ({check.get('reason')}) [N/A]"
    result = "OK" if check["passed"] else "FAILED"
    if check["unit"] == "points":
        return f"accuracy drop {check['measured']:.2f} points <= {check['limit']:.2f} [{result}]"
    return f"decision agreement {100 * check['measured']:.2f} % >= {100 * check['limit']:.2f} % [{result}]"
