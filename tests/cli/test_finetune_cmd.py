"""``latdeploy finetune``: a new model file whose float and fixed-point runs agree on every spike slot."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

import latdeploy
from latdeploy.cli import cli
from latdeploy.hw.profile import load_profile
from latdeploy.nn.fake_quant import layer_scale


def test_finetune_writes_a_grid_model_that_float_and_fixed_agree_on(tmp_path, shipped_model_path):
    out = tmp_path / "tuned.pt"
    result = CliRunner().invoke(
        cli, ["finetune", str(shipped_model_path), "--weight-bits", "6", "--epochs", "1", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("before  float vs fixed:")
    assert "(100.000 % agree)" in result.output.splitlines()[1]
    model, metadata = latdeploy.load(out)
    report = metadata["finetune"]
    assert report["weight_bits"] == 6 and report["profile"] == "loihi2"
    assert report["after"]["mismatches"] == 0 and report["after"]["samples"] == 360
    assert report["before"]["mismatches"] > 0  # the 8-bit shipped model is not on the 6-bit grid
    for linear in model.linears:  # every weight sits on the 6-bit grid of its layer
        scale, step, _, _ = layer_scale(linear.weight, 6)
        units = linear.weight.detach().numpy().astype(np.float64) * scale / step
        assert np.allclose(units, np.round(units), atol=1e-3)
    assert load_profile("loihi2").name == metadata["finetune"]["profile"]


def test_finetune_refuses_an_unknown_profile_without_writing(tmp_path, shipped_model_path):
    out = tmp_path / "tuned.pt"
    result = CliRunner().invoke(cli, ["finetune", str(shipped_model_path), "--profile", "loihi9", "-o", str(out)])
    assert result.exit_code != 0 and "loihi9" in str(result.exception)
    assert not out.exists()
