"""``latdeploy verify`` end to end: real Lava on a subset, a deliberately mis-quantized model, bundles."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
from click.testing import CliRunner

from latdeploy import cli
from latdeploy.cli.app import cli as cli_group
from latdeploy.errors import EXIT_GATE_FAILURE, EXIT_PARITY_FAILURE, EXIT_USER_ERROR
from latdeploy.flows.export import export
from latdeploy.verify.corrupt import Corruption, corrupt, parse_corruptions


def _verify(*args: str, exit_code: int = 0) -> dict:
    result = CliRunner().invoke(cli_group, ["verify", *args, "--json"], catch_exceptions=False)
    assert result.exit_code == exit_code, result.output
    return json.loads(result.stdout)


def test_two_bit_weights_fail_the_gates_and_name_the_first_diverging_layer(shipped_model_path, tmp_path):
    html = tmp_path / "report.html"
    args = [str(shipped_model_path), "--weight-bits", "2", "--samples", "30", "--hardware-samples", "2"]
    report = _verify(*args, "--html", str(html), exit_code=EXIT_GATE_FAILURE)
    assert report["gates"]["passed"] is False
    assert [check["passed"] for check in report["gates"]["checks"]] == [False, False]
    divergence = report["float_vs_fixed"]["first_divergence"]
    assert divergence["layer"] == "lif1"
    assert divergence["cause"]["factors"][0] == "weight_rounding"
    assert divergence["cause"]["fixes"]["weight_rounding"] is True
    assert divergence["float_fired"] != divergence["fixed_fired"]
    assert len(divergence["membrane"]["float"]) == len(divergence["membrane"]["fixed"])
    assert report["fixed_vs_hardware"]["mismatches"] == 0  # bad quantization, yet Lava still equals the simulator
    assert report["accuracy"]["fixed"] < report["accuracy"]["float"] - 0.3
    page = html.read_text()
    assert "weight_rounding" in page and "<b>lif1</b>" in page
    assert '<h2 id="verdict" class="verdict-failed">Verdict <span class="fail">FAILED</span></h2>' in page
    assert "accuracy drop" in page and "decision agreement" in page


def test_eight_bit_weights_pass_every_gate_and_extra_hardware_samples_are_clamped(shipped_model_path, tmp_path):
    html = tmp_path / "report.html"
    args = ["verify", str(shipped_model_path), "--samples", "6", "--hardware-samples", "20", "--html", str(html)]
    result = CliRunner().invoke(cli_group, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == "note: --hardware-samples 20 clamped to 6 (the verified samples)"
    verdict = [line for line in result.stdout.splitlines() if line.startswith("verdict")]
    assert verdict == [
        "verdict     PASSED: fixed vs Lava parity [OK]; accuracy drop 0.00 points <= 1.00 [OK]; "
        "decision agreement 100.00 % >= 95.00 % [OK]"
    ]
    assert '<h2 id="verdict" class="verdict-passed">Verdict <span class="ok">PASSED</span></h2>' in html.read_text()


def test_verify_a_bundle_with_the_hardware_on_a_subset_and_corruptions(shipped_model_path, tmp_path):
    bundle = export(shipped_model_path, out=tmp_path / "digits.latdeploy", samples=3).out
    report = _verify(
        str(bundle), "--samples", "40", "--hardware-samples", "4", "--corrupt", "gaussian_noise:0.2,salt_pepper:0.1"
    )
    assert (report["samples"], report["hardware_samples"]) == (40, 4)
    assert report["fixed_vs_hardware"]["mismatches"] == 0 and report["fixed_vs_hardware"]["compared"] == 4 * 8 * (
        128 + 10
    )
    assert report["float_vs_fixed"]["compared"] == 40 * 8 * (128 + 10)
    latency = report["decision_latency"]["hardware"]
    assert latency["hardware"]["mean_step"] == pytest.approx(latency["mean_step"] + 2)
    assert (
        sum(report["decision_latency"]["fixed"]["histogram"]) + report["decision_latency"]["fixed"]["undecided"] == 40
    )
    assert [r["corruption"] for r in report["robustness"]] == ["gaussian_noise:0.2", "salt_pepper:0.1"]
    assert all(r["fixed_vs_hardware"] == {"compared": 4 * 8 * 138, "mismatches": 0} for r in report["robustness"])
    clean = report["accuracy"]["float"]
    assert all(r["accuracy"]["float"] <= clean for r in report["robustness"])
    assert all(len(layer["per_step_agreement_float_vs_fixed"]) == 8 for layer in report["layers"])

    moved = tmp_path / "moved.latdeploy"
    shutil.copytree(bundle, moved)
    manifest = json.loads((moved / "manifest.json").read_text())
    manifest["model"]["path"] = str(tmp_path / "gone.pt")
    (moved / "manifest.json").write_text(json.dumps(manifest))
    (moved / "model.pt").unlink()  # without the bundle's own copy, the recorded path is looked for
    result = CliRunner().invoke(cli_group, ["verify", str(moved)])
    assert "not found; pass --model" in str(result.exception)


def test_user_errors_exit_2(shipped_model_path, monkeypatch, capsys):
    for args, message in (
        (["--corrupt", "fog:0.1"], "unknown corruption 'fog'"),
        (["--samples", "1000"], "--samples 1000 is outside 1..360"),
        (["--max-accuracy-drop", "-1"], "Invalid value for '--max-accuracy-drop'"),
        (["--min-agreement", "1.5"], "Invalid value for '--min-agreement'"),
    ):
        monkeypatch.setattr(sys, "argv", ["latdeploy", "verify", str(shipped_model_path), "--quiet", *args])
        with pytest.raises(SystemExit) as exit_info:
            cli.main()
        assert exit_info.value.code == EXIT_USER_ERROR
        assert message in capsys.readouterr().err


def test_corruptions_are_seeded_and_keep_the_input_range():
    import numpy as np

    x = np.random.default_rng(0).random((50, 64)).astype(np.float32)
    noisy = corrupt(x, Corruption("gaussian_noise", 0.3), seed=1)
    assert noisy.dtype == x.dtype and 0.0 <= noisy.min() and noisy.max() <= 1.0
    np.testing.assert_array_equal(noisy, corrupt(x, Corruption("gaussian_noise", 0.3), seed=1))
    assert not np.array_equal(noisy, corrupt(x, Corruption("gaussian_noise", 0.3), seed=2))
    salted = corrupt(x, Corruption("salt_pepper", 0.5), seed=0)
    assert 0.4 < np.isin(salted, (0.0, 1.0)).mean() < 0.6
    events = np.random.default_rng(0).integers(0, 4, (10, 3, 2, 4, 4)).astype(np.uint8)
    assert corrupt(events, Corruption("dropout", 0.5)).max() <= events.max()
    assert parse_corruptions("gaussian_noise:0.1, salt_pepper:0.05") == [
        Corruption("gaussian_noise", 0.1),
        Corruption("salt_pepper", 0.05),
    ]


def test_a_lava_mismatch_exits_3_and_is_located(shipped_model_path, monkeypatch, capsys):
    import latdeploy.backends.lava as lava_backend

    real_run_lava = lava_backend.run_lava

    def run_lava_with_one_flipped_spike(graph, spikes, **options):
        run = real_run_lava(graph, spikes, **options)
        run.trace.layers["lif2"].spikes[1, 3, 4] ^= 1
        return run

    monkeypatch.setattr(lava_backend, "run_lava", run_lava_with_one_flipped_spike)
    argv = ["latdeploy", "verify", str(shipped_model_path), "--samples", "6", "--lava-samples", "2", "--json"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == EXIT_PARITY_FAILURE
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["fixed_vs_hardware"]["mismatches"] == 1
    assert report["fixed_vs_hardware"]["first_divergence"] == {"sample": 1, "step": 3, "layer": "lif2", "neuron": 4}
    assert "parity failure" in captured.err
