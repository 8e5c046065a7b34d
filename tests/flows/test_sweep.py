from __future__ import annotations

import json

from click.testing import CliRunner

from latdeploy.cli import cli
from latdeploy.flows.sweep import pareto_front


def test_pareto_front_keeps_only_undominated_points():
    points = [
        {"energy_j": 1.0, "accuracy": 0.9},
        {"energy_j": 2.0, "accuracy": 0.9},  # dominated: same accuracy, more energy
        {"energy_j": 0.5, "accuracy": 0.2},
        {"energy_j": 3.0, "accuracy": 0.95},
        {"energy_j": 1.0, "accuracy": 0.9},  # a tie with point 0 dominates neither
    ]
    assert pareto_front(points, "energy_j", "accuracy") == [0, 2, 3, 4]


def test_sweep_compares_bit_widths_in_one_table_and_plots_the_front(shipped_model_path, tmp_path):
    out = tmp_path / "digits.sweep"
    args = ["sweep", str(shipped_model_path), "--weight-bits", "8,2", "--samples", "30", "--lava-samples", "1"]
    result = CliRunner().invoke(cli, [*args, "-o", str(out), "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "first divergence" in result.output and "lif1: weight_rounding" in result.output
    sweep = json.loads((out / "sweep.json").read_text())
    eight, two = sweep["settings"]
    assert (eight["weight_bits"], two["weight_bits"]) == (8, 2)
    assert eight["first_divergence"] is None and eight["accuracy"]["fixed"] == eight["accuracy"]["float"]
    assert two["first_divergence"] == {"layer": "lif1", "cause": ["weight_rounding"]}
    assert two["accuracy"]["fixed"] < eight["accuracy"]["fixed"] and two["sops"] < eight["sops"]
    assert eight["fixed_vs_hardware_mismatches"] == two["fixed_vs_hardware_mismatches"] == 0
    # 2 bits is on the raw front (least energy) but below the accuracy floor: left off, and it fails its gates
    assert sweep["pareto"] == [8] and sweep["below_floor"] == [2]
    assert sweep["accuracy_floor"] == round(eight["accuracy"]["float"] - 0.01, 12)
    assert eight["gates"]["passed"] and not two["gates"]["passed"]
    assert "below the accuracy floor" in result.output and "left off: 2 bit" in result.output
    assert "gates       failed at 2 bit" in result.output
    svg = (out / "pareto.svg").read_text()
    # every setting is drawn and labelled; 2 bits, far below 8 bits' accuracy, greyed on the lower edge
    assert 'id="pareto-front"' in svg and 'id="pareto-below-floor"' in svg
    assert ">8 bit<" in svg and f">2 bit ({100 * two['accuracy']['fixed']:.1f} %)<" in svg


def test_a_sweep_where_no_setting_passes_exits_with_the_gate_status(shipped_model_path, tmp_path):
    from latdeploy.errors import EXIT_GATE_FAILURE

    out = tmp_path / "two.sweep"
    args = ["sweep", str(shipped_model_path), "--weight-bits", "2", "--samples", "10", "--lava-samples", "1"]
    result = CliRunner().invoke(cli, [*args, "-o", str(out), "--quiet"], catch_exceptions=False)
    assert result.exit_code == EXIT_GATE_FAILURE, result.output
    assert result.stderr.strip() == "gate failure: no weight bit width passes every gate (see sweep.json)"
    sweep = json.loads((out / "sweep.json").read_text())
    assert sweep["schema_version"] == 1 and sweep["pareto"] == [] and sweep["below_floor"] == [2]
