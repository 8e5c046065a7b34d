"""The ``latdeploy export`` command end to end, with real Lava."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import onnx
import pytest

import latdeploy.backends.lava as lava_backend
from latdeploy import cli
from latdeploy.errors import EXIT_PARITY_FAILURE, EXIT_USER_ERROR

BUNDLE_FILES = {
    "manifest.json",
    "graph.onnx",
    "graph.int.onnx",
    "host.onnx",
    "profile.yaml",
    "model.pt",
    "parity.json",
    "energy.json",
    "quantization.json",
    "mapping.json",
    "report.html",
}


def _latdeploy(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "latdeploy.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from tests.conftest import SHIPPED_MODEL

    out = tmp_path_factory.mktemp("export") / "digits.latdeploy"
    result = _latdeploy("export", str(SHIPPED_MODEL), "--target", "loihi2-sim", "-o", str(out), "--samples", "20")
    return result, out


def test_export_succeeds_with_zero_fixed_vs_hardware_mismatches(exported):
    result, out = exported
    assert result.returncode == 0, result.stderr
    assert "fixed vs Lava: 0 mismatches" in result.stdout and "uJ/inference" in result.stdout
    assert {p.name for p in out.iterdir()} == BUNDLE_FILES
    parity = json.loads((out / "parity.json").read_text())
    assert parity["samples"] == 20 and parity["timesteps"] == 8
    assert parity["fixed_vs_hardware"]["mismatches"] == 0
    assert parity["fixed_vs_hardware"]["compared"] == 20 * 8 * (128 + 10)
    assert set(parity["accuracy"]) == {"float", "fixed", "hardware"} and parity["hardware"] == "lava"
    assert set(parity["decision_agreement"]) == {"float_vs_fixed", "fixed_vs_hardware", "float_vs_hardware"}
    assert parity["decision_agreement"]["fixed_vs_hardware"] == 1.0
    layer_keys = {
        "name",
        "spikes_float",
        "spikes_fixed",
        "spikes_hardware",
        "mismatches_float_vs_fixed",
        "mismatches_fixed_vs_hardware",
    }
    assert all(layer_keys <= set(layer) for layer in parity["layers"])
    assert [layer["lag"] for layer in parity["layers"]] == [1, 2]


def test_bundle_files_are_valid_and_traceable(exported, shipped_model_path):
    _, out = exported
    for name in ("graph.onnx", "graph.int.onnx", "host.onnx"):
        onnx.checker.check_model(onnx.load(out / name), full_check=True)
    energy = json.loads((out / "energy.json").read_text())
    assert {"profile", "sops", "neuron_updates", "spikes", "energy_j", "per_layer", "ann_equivalent"} <= set(energy)
    assert (
        energy["profile"] == "loihi2" and energy["sops"] > 0 and energy["ann_equivalent"]["macs"] == 64 * 128 + 128 * 10
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"]["sha256"] == hashlib.sha256(shipped_model_path.read_bytes()).hexdigest()
    assert manifest["lava-nc"] == "0.10.0" and manifest["target"] == "loihi2-sim"
    assert manifest["command_line"].startswith("latdeploy export")
    mapping = json.loads((out / "mapping.json").read_text())
    assert mapping["profile"] == "loihi2" and mapping["total_cores"] == 2
    assert [(layer["name"], layer["neurons"], layer["cores"]) for layer in mapping["layers"]] == [
        ("lif1", 128, 1),
        ("lif2", 10, 1),
    ]


def test_export_is_deterministic(exported, shipped_model_path):
    _, out = exported
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = _latdeploy("export", str(shipped_model_path), "--target", "loihi2-sim", "-o", str(out), "--samples", "20")
    assert result.returncode == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda tmp, model: [str(tmp / "absent.pt")], "absent.pt: no such model file"),
        (lambda tmp, model: [_garbage(tmp)], "garbage.pt: not a loadable latdeploy model"),
        (lambda tmp, model: [str(model), "--profile", "loihi9"], "unknown hardware profile 'loihi9'"),
        (lambda tmp, model: [str(model), "--samples", "5000"], "--samples 5000 is outside 1..360"),
        (lambda tmp, model: [str(model), "--target", "tpu"], "Invalid value for '--target'"),
    ],
)
def test_user_errors_exit_2_with_one_line_and_write_nothing(tmp_path, shipped_model_path, make_args, message):
    work = tmp_path / "work"
    work.mkdir()
    result = _latdeploy("export", *make_args(tmp_path, shipped_model_path), "-o", str(work / "out.latdeploy"))
    assert result.returncode == EXIT_USER_ERROR
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 2
    assert list(work.iterdir()) == []


def _garbage(tmp):
    path = tmp / "garbage.pt"
    path.write_bytes(b"\x80\x04not a model at all")
    return str(path)


def test_parity_failure_exits_3_and_keeps_the_bundle(tmp_path, shipped_model_path, monkeypatch):
    real_run_lava = lava_backend.run_lava

    def run_lava_with_one_flipped_spike(graph, spikes, **options):
        run = real_run_lava(graph, spikes, **options)
        layer = run.trace.layers["lif1"]
        layer.spikes[0, 0, 0] ^= 1
        return run

    monkeypatch.setattr(lava_backend, "run_lava", run_lava_with_one_flipped_spike)
    out = tmp_path / "bad.latdeploy"
    monkeypatch.setattr(sys, "argv", ["latdeploy", "export", str(shipped_model_path), "-o", str(out), "--samples", "3"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == EXIT_PARITY_FAILURE
    parity = json.loads((out / "parity.json").read_text())
    assert parity["fixed_vs_hardware"]["mismatches"] == 1
    assert parity["fixed_vs_hardware"]["first_divergence"] == {"layer": "lif1", "sample": 0, "step": 0, "neuron": 0}
    assert np.isclose(parity["decision_agreement"]["fixed_vs_hardware"], 1.0)
