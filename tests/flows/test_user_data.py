"""Issue 14's done-when for data: a model trained on a dataset latdeploy does not ship goes through
export, verify, energy, sweep and finetune with ``--data``; a mismatched input shape is a one-line exit-2 error."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import latdeploy
from latdeploy.cli import cli
from latdeploy.nn import build_model, first_spike_decision
from latdeploy.nn.losses import first_spike_membrane_cross_entropy

FEATURES, CLASSES, TIMESTEPS = 100, 5, 6


def sensor_set(samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A 100-feature, 5-class "sensor" set: noisy copies of one fixed prototype per class, in [0, 1]."""
    prototypes = np.random.default_rng(1234).uniform(0.0, 1.0, (CLASSES, FEATURES))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, samples)
    x = np.clip(prototypes[y] + rng.normal(0.0, 0.15, (samples, FEATURES)), 0.0, 1.0)
    return x.astype(np.float32), y.astype(np.int64)


def accuracy(model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with torch.no_grad():
        spikes, v_pre = model(torch.from_numpy(x))
    decision = first_spike_decision(spikes[-1].permute(1, 0, 2).numpy(), v_pre.permute(1, 0, 2).numpy())
    return float((decision.label == y).mean())


@pytest.fixture(scope="module")
def sensor(tmp_path_factory):
    """``(model path, test .npz path)``: a LatencyMLP trained a few epochs on the sensor set, saved."""
    root = tmp_path_factory.mktemp("sensor")
    torch.manual_seed(0)
    x, y = sensor_set(300, seed=1)
    config = {"arch": "mlp", "sizes": [FEATURES, 32, CLASSES], "timesteps": TIMESTEPS, "threshold": 1.0}
    model = build_model(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(8):
        for start in range(0, len(x), 50):
            spikes, v_pre = model(torch.from_numpy(x[start : start + 50]))
            labels = torch.from_numpy(y[start : start + 50])
            loss = first_spike_membrane_cross_entropy(spikes[-1], v_pre, labels, 1.0)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    x_test, y_test = sensor_set(40, seed=2)
    assert accuracy(model, x_test, y_test) > 2 / CLASSES  # better than chance (0.2)
    metadata = {
        "input_shape": [FEATURES],
        "timesteps": TIMESTEPS,
        "encoder": "latency",
        "dataset": "my-sensor-data",
        "classes": CLASSES,
    }
    model_path = latdeploy.save(model, root / "sensor.pt", metadata)
    data_path = root / "sensor_test.npz"
    np.savez(data_path, x=x_test, y=y_test)
    return model_path, data_path


def invoke(*args: object):
    """Run a command in this process (errors come back as ``result.exception``)."""
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def latdeploy_cli(*args: object) -> subprocess.CompletedProcess[str]:
    """Run ``latdeploy`` in a subprocess: its exit status and output as a user sees them."""
    command = [sys.executable, "-m", "latdeploy.cli", *(str(arg) for arg in args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_without_data_the_unshipped_dataset_asks_for_data(sensor):
    model_path, _ = sensor
    result = latdeploy_cli("energy", model_path, "--samples", "4")
    assert result.returncode == 2, result.stderr
    assert "unknown dataset 'my-sensor-data'" in result.stderr
    assert result.stderr.strip().endswith("give your own data with --data FILE.npz")


def test_export_verify_energy_sweep_finetune_with_data(sensor, tmp_path):
    model_path, data_path = sensor
    bundle = tmp_path / "sensor.latdeploy"
    result = invoke("export", model_path, "--data", data_path, "--samples", "8", "-o", bundle, "--quiet")
    assert result.exit_code == 0, result.output
    assert f"data        {data_path} (40 samples, inputs the model's encoder encodes)" in result.output
    assert "calibration the first 40 samples of --data" in result.output
    manifest = json.loads((bundle / "manifest.json").read_text())
    record = manifest["data"]
    assert record["test"]["kind"] == "npz" and record["test"]["inputs"] == "analog"
    assert record["test"]["sha256"] == hashlib.sha256(data_path.read_bytes()).hexdigest()
    assert record["calibration"] == {"from": "data", "samples": 40}
    assert json.loads((bundle / "parity.json").read_text())["fixed_vs_hardware"]["mismatches"] == 0

    result = invoke("verify", bundle, "--samples", "20", "--hardware-samples", "2", "--quiet")  # finds the data again
    assert result.exit_code == 0, result.output
    assert f"data        {data_path}" in result.output

    result = invoke("energy", model_path, "--data", data_path, "--samples", "20")
    assert result.exit_code == 0, result.output
    assert "SOP" in result.output or "sop" in result.output.lower()

    result = invoke(
        "sweep", model_path, "--data", data_path, "--weight-bits", "8,4", "--samples", "20",
        "--hardware-samples", "2", "-o", tmp_path / "sensor.sweep", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    sweep = json.loads((tmp_path / "sensor.sweep" / "sweep.json").read_text())
    assert [s["weight_bits"] for s in sweep["settings"]] == [8, 4]
    assert sweep["data"]["test"]["source"] == str(data_path)

    tuned = tmp_path / "tuned.pt"
    result = invoke("finetune", model_path, "--data", data_path, "--epochs", "1", "-o", tuned)
    assert result.exit_code == 0, result.output
    _, metadata = latdeploy.load(tuned)
    assert metadata["finetune"]["data"]["test"]["source"] == str(data_path)


def test_verify_bundle_asks_for_data_when_it_moved(sensor, tmp_path):
    model_path, data_path = sensor
    bundle = tmp_path / "sensor.latdeploy"
    moved = tmp_path / "moved.npz"
    moved.write_bytes(data_path.read_bytes())
    result = invoke("export", model_path, "--data", moved, "--samples", "4", "-o", bundle, "--quiet")
    assert result.exit_code == 0, result.output
    moved.unlink()
    result = invoke("verify", bundle, "--samples", "4", "--hardware-samples", "1")
    assert str(result.exception).endswith(f"data {str(moved)!r} not found; pass --data")
    result = invoke("verify", bundle, "--data", data_path, "--samples", "4", "--hardware-samples", "1")
    assert result.exit_code == 0, result.output


def test_mismatched_input_shape_is_a_one_line_exit_2_error(sensor, tmp_path):
    model_path, _ = sensor
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x=np.zeros((8, 64), np.float32), y=np.zeros(8, np.int64))
    result = latdeploy_cli("export", model_path, "--data", wrong, "-o", tmp_path / "out.latdeploy")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"error: {wrong}: field 'x' has shape [8, 64]; expected [N, 100] inputs or [N, 6, 100] encoded spikes"
    )
    assert not (tmp_path / "out.latdeploy").exists()
