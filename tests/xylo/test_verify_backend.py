"""``verify --profile xylo-audio2`` without ``--backend`` runs xylosim (the profile's backend), not Lava."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from latdeploy.cli.commands import cli
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("xylosim_installed")


def test_verify_with_the_xylo_profile_runs_on_xylosim():
    model = str(ROOT / "models" / "wine_xylo_mlp.pt")
    result = CliRunner().invoke(cli, ["verify", model, "--profile", "xylo-audio2", "--samples", "4", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert report["hardware"] == "xylo" and report["hardware_samples"] == 4
