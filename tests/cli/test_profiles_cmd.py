"""``latdeploy profiles list`` / ``show``: what they print is what ``--profile PATH`` reads back."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from latdeploy.cli import cli, main
from latdeploy.errors import EXIT_USER_ERROR
from latdeploy.hw.profile import load_profile, shipped_profiles


def test_list_names_every_shipped_profile_with_its_kind():
    result = CliRunner().invoke(cli, ["profiles", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == shipped_profiles()
    assert any(line.split()[:2] == ["cmos45nm", "energy-only"] for line in lines)
    assert any(line.split()[:2] == ["loihi2", "chip"] for line in lines)


@pytest.mark.parametrize("name", ["loihi1", "cmos45nm"])
def test_show_prints_yaml_that_loads_back_as_the_same_profile(tmp_path, name):
    result = CliRunner().invoke(cli, ["profiles", "show", name])
    assert result.exit_code == 0, result.output
    path = tmp_path / "mine.yaml"
    path.write_text(result.output)
    original, again = load_profile(name), load_profile(str(path))
    assert again.values == original.values and again.sources == original.sources
    assert CliRunner().invoke(cli, ["profiles", "show", str(path)]).output == result.output


def test_show_of_an_unknown_profile_exits_2_with_one_line(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["latdeploy", "profiles", "show", "loihi9"])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == EXIT_USER_ERROR
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "unknown hardware profile 'loihi9'" in error
