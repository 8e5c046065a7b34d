"""Old parity reports (latdeploy 0.1, written through Lava) stay readable: one upgrade, every reader."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from latdeploy.cli.format import export_lines, verify_lines
from latdeploy.report.html import render_report
from latdeploy.verify.parity import parity_ok
from latdeploy.verify.schema import upgrade_parity

DATA = Path(__file__).resolve().parent / "data"
OLD_EXPORT = json.loads((DATA / "parity_0.1_export.json").read_text())
OLD_VERIFY = json.loads((DATA / "parity_0.1_verify_corrupt.json").read_text())


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_an_old_report_gets_the_hardware_keys_and_keeps_every_value():
    before = copy.deepcopy(OLD_EXPORT)
    new = upgrade_parity(OLD_EXPORT)
    assert OLD_EXPORT == before  # the input is not changed
    assert new["hardware"] == "lava" and not any("lava" in key for key in _keys(new))
    assert new["hardware_samples"] == OLD_EXPORT["lava_samples"] == 3
    assert new["fixed_vs_hardware"] == OLD_EXPORT["fixed_vs_lava"]
    assert new["output_state_vs_hardware"] == OLD_EXPORT["output_state_vs_lava"]
    assert new["float_vs_fixed_on_hardware_samples"] == OLD_EXPORT["float_vs_fixed_on_lava_samples"]
    assert new["accuracy"]["hardware"] == OLD_EXPORT["accuracy"]["lava"]
    assert new["accuracy_on_hardware_samples"]["hardware"] == OLD_EXPORT["accuracy_on_lava_samples"]["lava"]
    assert new["decision_agreement"]["float_vs_hardware"] == OLD_EXPORT["decision_agreement"]["float_vs_lava"]
    assert new["decision_latency"]["hardware"] == OLD_EXPORT["decision_latency"]["lava"]
    for old_layer, layer in zip(OLD_EXPORT["layers"], new["layers"], strict=True):
        assert layer["spikes_hardware"] == old_layer["spikes_lava"]
        assert layer["per_step_agreement_fixed_vs_hardware"] == old_layer["per_step_agreement_fixed_vs_lava"]
        assert len(layer) == len(old_layer)
    assert (
        new["layers"][-1]["first_spike_shift_fixed_vs_hardware"]
        == OLD_EXPORT["layers"][-1]["first_spike_shift_fixed_vs_lava"]
    )
    assert upgrade_parity(new) is new  # a current report passes through


def test_robustness_entries_of_an_old_verify_report_are_upgraded():
    new = upgrade_parity(OLD_VERIFY)
    (entry,) = new["robustness"]
    assert entry["fixed_vs_hardware"] == {"compared": 2208, "mismatches": 0}
    assert entry["accuracy"] == {"fixed": 2 / 3, "float": 2 / 3, "hardware": 0.5}
    assert not any("lava" in key for key in _keys(new))


def test_every_reader_takes_an_old_report():
    new = upgrade_parity(OLD_EXPORT)
    assert parity_ok(OLD_EXPORT) and parity_ok(OLD_VERIFY)
    assert render_report(OLD_EXPORT, [], None) == render_report(new, [], None)
    assert "<h2>Parity: fixed point vs Lava 0.10 (Loihi2SimCfg fixed_pt)" in render_report(OLD_EXPORT, [], None)
    assert verify_lines(OLD_VERIFY) == verify_lines(upgrade_parity(OLD_VERIFY))
    assert "parity      fixed vs Lava: 0 mismatches in 3312 spike slots [OK]" in verify_lines(OLD_EXPORT)
    energy = {"energy_j": 1e-6, "profile": "loihi2", "sops": 1.0, "spikes": 1.0}
    energy["ann_equivalent"] = {"macs": 1, "energy_j": 1e-6}
    assert export_lines("b", OLD_EXPORT, energy, 1.0, 0.001) == export_lines("b", new, energy, 1.0, 0.001)
