"""docs/architecture.md "A hardware profile", followed literally: show, edit, pass the file."""

from __future__ import annotations

import json
import sys

import pytest
import yaml
from click.testing import CliRunner

from latdeploy.cli import cli, main
from latdeploy.errors import EXIT_USER_ERROR


def _mychip(tmp_path, edit) -> str:
    shown = CliRunner().invoke(cli, ["profiles", "show", "loihi2"])  # step 1
    assert shown.exit_code == 0, shown.output
    document = yaml.safe_load(shown.output)
    edit(document)  # step 2
    path = tmp_path / "mychip.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return str(path)


def _halve_neurons(document):
    document["name"] = "mychip"
    document["resources"]["neurons_per_core"] = {"value": 4096, "source": "my chip's datasheet, table 3"}


def test_an_edited_profile_is_used_by_the_command_it_is_passed_to(tmp_path, shipped_model_path):
    path = _mychip(tmp_path, _halve_neurons)
    ours = CliRunner().invoke(cli, ["map", str(shipped_model_path), "--profile", path, "--json"])  # step 3
    shipped = CliRunner().invoke(cli, ["map", str(shipped_model_path), "--json"])
    assert ours.exit_code == 0 and shipped.exit_code == 0, ours.output + shipped.output
    assert json.loads(ours.output)["profile"] == "mychip" and json.loads(shipped.output)["profile"] == "loihi2"


def test_an_arithmetic_the_simulators_do_not_implement_is_refused_naming_the_field(
    tmp_path, shipped_model_path, monkeypatch, capsys
):
    def greater_equal(document):
        document["arithmetic"]["threshold_comparison"]["value"] = "greater_equal"

    path = _mychip(tmp_path, greater_equal)
    monkeypatch.setattr(sys, "argv", ["latdeploy", "map", str(shipped_model_path), "--profile", path])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == EXIT_USER_ERROR
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "mychip.yaml: field 'arithmetic.threshold_comparison'" in error
