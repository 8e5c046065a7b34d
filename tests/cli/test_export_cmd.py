"""``latdeploy export`` options of issue 5: a network that does not fit exits 2 and writes nothing;
``--weight-bits`` is range-checked by the CLI."""

from __future__ import annotations

import sys

import pytest
import torch
import yaml

import latdeploy
from latdeploy.cli import main
from latdeploy.errors import EXIT_USER_ERROR
from latdeploy.hw.profile import PROFILE_DIR


def _run(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["latdeploy", *args])
    with pytest.raises(SystemExit) as stop:
        main()
    return stop.value.code, capsys.readouterr().err


def test_a_network_needing_more_cores_than_the_profile_has_exits_2_and_writes_nothing(
    tmp_path, shipped_model_path, monkeypatch, capsys
):
    document = yaml.safe_load((PROFILE_DIR / "loihi2.yaml").read_text())
    document["name"] = "one-core"
    document["resources"]["cores_per_chip"]["value"] = 1
    profile = tmp_path / "one-core.yaml"
    profile.write_text(yaml.safe_dump(document))
    work = tmp_path / "work"
    work.mkdir()
    code, error = _run(
        monkeypatch, capsys, "export", str(shipped_model_path), "--profile", str(profile), "-o", str(work / "b")
    )
    assert code == EXIT_USER_ERROR
    assert "network needs 2 cores, profile 'one-core' has 1" in error and error.count("\n") == 1
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("bits", ["0", "9"])
def test_weight_bits_outside_1_to_8_is_a_user_error(tmp_path, shipped_model_path, monkeypatch, capsys, bits):
    code, error = _run(
        monkeypatch, capsys, "export", str(shipped_model_path), "--weight-bits", bits, "-o", str(tmp_path / "b")
    )
    assert code == EXIT_USER_ERROR and "--weight-bits" in error
    assert not (tmp_path / "b").exists()


def test_overflow_on_calibration_data_exits_2_naming_the_layer_unless_allowed(
    tmp_path, shipped_model_path, monkeypatch, capsys
):
    model, metadata = latdeploy.load(shipped_model_path)
    with torch.no_grad():
        model.neurons[0].bias.fill_(5.0)  # every hidden neuron fires on every step
        model.linears[1].weight.fill_(-1.0)
        model.linears[1].weight[0, 0] = 0.01  # mixed sign: full 8-bit grid, -256 per hidden spike
    path = latdeploy.save(model, tmp_path / "saturating.pt", metadata)
    work = tmp_path / "work"
    work.mkdir()
    code, error = _run(monkeypatch, capsys, "export", str(path), "-o", str(work / "b"))
    assert code == EXIT_USER_ERROR and error.count("\n") == 1
    assert "layer 'lif2': 0 u wraps and " in error and "v saturations at 24 bits in 512 calibration" in error
    assert "--allow-overflow" in error and list(work.iterdir()) == []
