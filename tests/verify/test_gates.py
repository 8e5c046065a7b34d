"""The verdict gates: each limit judged at its edge, on reports old and new, and refused out of range."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from latdeploy.errors import LatdeployError
from latdeploy.verify.gates import (
    DEFAULT_MAX_ACCURACY_DROP,
    DEFAULT_MIN_AGREEMENT,
    Gates,
    describe_check,
    evaluate_gates,
    gates_ok,
)


def _report(float_correct: int, fixed_correct: int, agree: int, samples: int = 100) -> dict:
    return {
        "samples": samples,
        "accuracy": {"float": float_correct / samples, "fixed": fixed_correct / samples, "hardware": 1.0},
        "decision_agreement": {"float_vs_fixed": agree / samples},
    }


def test_one_sample_in_a_hundred_is_at_the_edge_of_the_default_gates():
    at_edge = evaluate_gates(_report(98, 97, 95), Gates())
    assert at_edge["passed"], at_edge  # 0.98 - 0.97 is 1.0000000000000009 points before rounding
    beyond = evaluate_gates(_report(98, 96, 94), Gates())
    assert [check["passed"] for check in beyond["checks"]] == [False, False] and not beyond["passed"]
    assert [check["name"] for check in beyond["checks"]] == ["accuracy_drop", "decision_agreement"]
    assert beyond["checks"][0]["measured"] == 2.0 and beyond["checks"][0]["samples"] == 100


def test_a_two_bit_collapse_fails_both_default_gates_and_a_gain_passes():
    collapse = evaluate_gates(_report(96, 10, 16), Gates())
    assert not any(check["passed"] for check in collapse["checks"])
    assert evaluate_gates(_report(94, 96, 98), Gates())["passed"]  # fixed point better than float is no loss


@given(st.integers(0, 360), st.integers(0, 360), st.integers(0, 360), st.floats(0, 100), st.floats(0, 1))
def test_each_gate_passes_exactly_when_its_limit_is_met(float_correct, fixed_correct, agree, drop, agreement):
    report = _report(float_correct, fixed_correct, agree, samples=360)
    verdict = evaluate_gates(report, Gates(drop, agreement))
    accuracy, agreeing = verdict["checks"]
    assert accuracy["passed"] == (round(100 * (float_correct - fixed_correct) / 360, 9) <= drop)
    assert agreeing["passed"] == (agree / 360 >= agreement)
    assert verdict["passed"] == (accuracy["passed"] and agreeing["passed"])


@pytest.mark.parametrize(("drop", "agreement"), [(-1, 0.5), (101, 0.5), (1, -0.1), (1, 1.5), (float("nan"), 0.5)])
def test_limits_out_of_range_are_refused(drop, agreement):
    with pytest.raises(LatdeployError, match="outside"):
        Gates(drop, agreement)


def test_defaults_and_reports_without_gates():
    assert (Gates().max_accuracy_drop, Gates().min_agreement) == (DEFAULT_MAX_ACCURACY_DROP, DEFAULT_MIN_AGREEMENT)
    assert gates_ok({}) and not gates_ok({"gates": {"passed": False}})
    assert Gates(2.0).accuracy_floor(0.96) == pytest.approx(0.94)
    checks = evaluate_gates(_report(96, 10, 16), Gates())["checks"]
    assert describe_check(checks[0]) == "accuracy drop 86.00 points <= 1.00 [FAILED]"
    assert describe_check(checks[1]) == "decision agreement 16.00 % >= 95.00 % [FAILED]"
