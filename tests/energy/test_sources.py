"""Energy sources are worded as the papers state them, and every energy report says so once."""

from __future__ import annotations

import re

from click.testing import CliRunner

from latdeploy.cli import cli
from latdeploy.energy.counting import ENERGY_CAVEAT
from latdeploy.hw.profile import load_profile
from tests.conftest import ROOT

DAVIES_PROFILES = ("loihi1", "loihi2")


def test_davies_energies_are_called_pre_silicon_estimates_and_the_sop_a_minimum():
    for name in DAVIES_PROFILES:
        sources = load_profile(name).sources["energy"]
        for field in ("synaptic_op_j", "neuron_update_active_j", "neuron_update_idle_j", "spike_j"):
            assert "Davies et al. 2018" in sources[field] and "pre-silicon estimate" in sources[field], (name, field)
        assert "minimum 23.6 pJ" in sources["synaptic_op_j"]


def test_no_text_calls_the_davies_figures_measured():
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "hw_profiles").glob("*.yaml"))]
    for path in texts:
        for paragraph in re.split(r"\n\s*\n", path.read_text()):
            if "Davies" in paragraph:
                assert "measured" not in paragraph, f"{path.name}: {paragraph[:200]}"


def test_the_energy_table_prints_the_caveat_once(shipped_model_path):
    args = ["energy", str(shipped_model_path), "--samples", "3", "--profile", "loihi2", "--profile", "loihi1"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.count(ENERGY_CAVEAT) == 1
    assert "pre-silicon estimates" in ENERGY_CAVEAT and "minimum" in ENERGY_CAVEAT
