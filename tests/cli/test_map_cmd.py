"""``latdeploy map``: per-layer cores of a checkpoint, JSON and mapping file; exit 2 when it does not fit."""

from __future__ import annotations

import json
import sys

import pytest
import yaml
from click.testing import CliRunner

from latdeploy.cli import cli, main
from latdeploy.errors import EXIT_USER_ERROR
from latdeploy.hw.profile import load_profile
from latdeploy.nn import build_model
from latdeploy.nn.checkpoint import save
from latdeploy.report import schema_versions


@pytest.fixture
def vgg_quarter(tmp_path):
    config = {"arch": "vgg11", "timesteps": 2, "width": 0.25}
    metadata = {"input_shape": [3, 32, 32], "timesteps": 2, "encoder": "latency", "dataset": "none", "classes": 10}
    return save(build_model(config).eval(), tmp_path / "vgg11.pt", {**config, **metadata})


def test_map_prints_cores_per_layer_and_writes_the_mapping(tmp_path, vgg_quarter):
    out = tmp_path / "mapping.json"
    result = CliRunner().invoke(cli, ["map", str(vgg_quarter), "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["layer", "neurons", "cores"] and len(lines) == 11
    assert lines[1].split()[:3] == ["lif1", "16384", "2"] and lines[-1].startswith("total: 13 of 128 cores on loihi2")
    mapping = json.loads(out.read_text())
    assert mapping["total_cores"] == 13 and sum(layer["cores"] for layer in mapping["layers"]) == 13
    assert mapping["schema_version"] == schema_versions.MAPPING
    printed = json.loads(CliRunner().invoke(cli, ["map", str(vgg_quarter), "--json"]).output)
    assert printed == mapping


def test_map_onto_too_few_cores_exits_2_with_one_line_and_writes_nothing(tmp_path, vgg_quarter, monkeypatch, capsys):
    document = load_profile("loihi2").to_document()
    document["resources"]["cores_per_chip"]["value"] = 12
    profile = tmp_path / "twelve.yaml"
    profile.write_text(yaml.safe_dump(document))
    out = tmp_path / "mapping.json"
    monkeypatch.setattr(sys, "argv", ["latdeploy", "map", str(vgg_quarter), "--profile", str(profile), "-o", str(out)])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == EXIT_USER_ERROR
    error = capsys.readouterr().err.strip()
    assert "network needs 13 cores, profile 'loihi2' has 12 (cores_per_chip)" in error and "\n" not in error
    assert not out.exists()
