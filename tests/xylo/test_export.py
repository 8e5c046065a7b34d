"""The shipped Xylo model: exported to xylo-sim (xylosim) and loihi2-sim (Lava), each with 0
fixed-vs-hardware mismatches over its whole test set; a model beyond one Xylo core is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import latdeploy
from latdeploy.cli import cli
from latdeploy.flows.export import export
from latdeploy.nn import build_model

pytestmark = pytest.mark.usefixtures("xylosim_installed")

WINE_MODEL = Path(__file__).resolve().parents[2] / "models" / "wine_xylo_mlp.pt"
TEST_SAMPLES = 36
"""The whole test split of sklearn-wine (latdeploy/data/wine.py)."""


def _check_zero_mismatches(out: Path, hardware: str) -> dict:
    parity = json.loads((out / "parity.json").read_text())
    assert parity["hardware"] == hardware and parity["samples"] == TEST_SAMPLES
    assert parity["fixed_vs_hardware"]["mismatches"] == 0 and parity["fixed_vs_hardware"]["compared"] > 0
    assert parity["output_state_vs_hardware"] == {"u": 0, "v": 0, "v_pre": 0}
    return parity


def test_the_shipped_model_exports_to_xylo_sim_with_no_mismatch_over_its_test_set(tmp_path: Path) -> None:
    result = export(WINE_MODEL, target="xylo-sim", out=tmp_path / "b", samples=TEST_SAMPLES, profile_name="xylo-audio2")
    parity = _check_zero_mismatches(result.out, "xylo")
    assert parity["accuracy"]["hardware"] >= 0.9
    manifest = json.loads((result.out / "manifest.json").read_text())
    assert (manifest["target"], manifest["xylosim"]) == ("xylo-sim", "0.1.3")
    assert "xylosim 0.1.3 (SynSense Xylo Audio 2, SYNS61201)" in (result.out / "report.html").read_text()
    mapping = json.loads((result.out / "mapping.json").read_text())
    assert mapping["used"] == {"inputs": 13, "hidden": 16, "readout": 3, "recurrent_synapses": 0}


def test_the_shipped_model_exports_to_loihi2_sim_with_no_mismatch_over_its_test_set(tmp_path: Path) -> None:
    result = export(WINE_MODEL, target="loihi2-sim", out=tmp_path / "b", samples=TEST_SAMPLES, profile_name="loihi2")
    _check_zero_mismatches(result.out, "lava")


def test_a_model_beyond_one_xylo_core_is_refused_naming_the_binding_limit(tmp_path: Path) -> None:
    model, metadata = latdeploy.load(WINE_MODEL)
    config = {**model.config, "sizes": [13, 600, 401, 3]}
    path = tmp_path / "big.pt"
    latdeploy.save(build_model(config), path, metadata)
    out = tmp_path / "big.latdeploy"
    command = [sys.executable, "-m", "latdeploy.cli", "export", str(path), "--target", "xylo-sim"]
    command += ["--profile", "xylo-audio2", "--samples", "36", "-o", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    assert "hidden layers ('lif1' 600, 'lif2' 401): 1001 neurons exceed Xylo Audio 2's 1000" in result.stderr
    assert not out.exists()


def test_energy_prices_the_same_counts_for_xylo_and_loihi_side_by_side() -> None:
    args = ["energy", str(WINE_MODEL), "--profile", "xylo-audio2", "--profile", "loihi2", "--samples", "5"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "xylo-audio2" in result.output and "loihi2" in result.output
    (total,) = [line.split()[-3:] for line in result.output.splitlines() if line.startswith("total / inference")]
    assert total[0] == "n/a" and total[2] == "uJ" and float(total[1]) > 0  # Xylo publishes no energies: no 0 uJ
    assert "profile xylo-audio2 gives no synaptic_op_j, neuron_update_active_j" in result.output


def test_the_default_sample_count_takes_the_whole_test_set_when_it_is_smaller() -> None:
    """36 test samples: the default --samples (100) is a ceiling; an explicit 100 is refused."""
    args = ["energy", str(WINE_MODEL), "--profile", "xylo-audio2", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["counts"]["samples"] == TEST_SAMPLES
    result = CliRunner().invoke(cli, [*args, "--samples", "100"])
    assert "--samples 100 is outside 1..36" in str(result.exception)
