"""Integer files (no float run) and data without labels: the gates that need them are not applicable,
neither passed nor failed, and say why; reports written before schema version 3 read as complete."""

from __future__ import annotations

import numpy as np

from latdeploy.cli.format import gate_failure, verdict_line
from latdeploy.frontend.netx import read_netx
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.verify.gates import Gates, describe_check, evaluate_gates
from latdeploy.verify.parity import NO_FLOAT_REASON, NO_LABELS_REASON, has_float_run, parity_report
from latdeploy.verify.schema import upgrade_parity
from tests.frontend.test_netx_tutorial_files import STEPS, _tutorial_net


def _report(float_accuracy: float | None, fixed_accuracy: float | None, agreement: float | None, **extra) -> dict:
    return {
        "samples": 10,
        "accuracy": {"float": float_accuracy, "fixed": fixed_accuracy, "hardware": fixed_accuracy},
        "decision_agreement": {"float_vs_fixed": agreement},
        **extra,
    }


def test_without_a_float_run_both_gates_are_not_applicable_and_the_verdict_says_so():
    report = _report(None, 0.5, None, float_run={"available": False, "reason": NO_FLOAT_REASON})
    gates = evaluate_gates(report, Gates())
    assert gates["passed"] is True
    assert [(c["passed"], c["measured"], c["reason"]) for c in gates["checks"]] == [(None, None, NO_FLOAT_REASON)] * 2
    assert describe_check(gates["checks"][0]) == f"accuracy drop not applicable ({NO_FLOAT_REASON}) [N/A]"


def test_without_labels_the_accuracy_gate_is_not_applicable_but_agreement_is_judged():
    report = _report(None, None, 0.5, labels={"available": False, "reason": NO_LABELS_REASON})
    checks = evaluate_gates(report, Gates())["checks"]
    assert checks[0]["passed"] is None and checks[0]["reason"] == NO_LABELS_REASON
    assert checks[1]["passed"] is False  # 0.5 < 0.95: a measured gate still fails
    assert gate_failure({"gates": {"checks": checks}}) == "gate failure: " + describe_check(checks[1])


def test_an_integer_run_report_has_null_float_values_and_a_parity_verdict(tmp_path):
    int_graph = read_netx(_tutorial_net(tmp_path / "tutorial.net"), timesteps=STEPS)
    spikes = (np.random.default_rng(1).random((3, STEPS, 5)) < 0.5).astype(np.uint8)
    trace = simulate_fixed(int_graph, spikes)
    report = parity_report(int_graph, None, None, trace, trace, 8, "lava")
    assert not has_float_run(report) and report["float_vs_fixed"]["mismatches"] is None
    assert report["fixed_vs_hardware"]["mismatches"] == 0 and report["accuracy"] == dict.fromkeys(report["accuracy"])
    report["gates"] = evaluate_gates(report, Gates())
    assert verdict_line(report).startswith("verdict     PASSED: fixed vs Lava parity [OK]; accuracy drop not")


def test_a_version_2_report_reads_with_a_float_run_and_labels():
    upgraded = upgrade_parity({"schema_version": 2, "hardware": "lava"})
    assert upgraded["float_run"] == upgraded["labels"] == {"available": True, "reason": None}
    assert has_float_run(upgraded)
