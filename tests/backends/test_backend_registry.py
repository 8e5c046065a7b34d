"""docs/backends.md's "how to add a backend", followed literally: a backend registered from this test
alone (the fixed-point simulator under another name) exports and verifies, and the bundle names it.

It also pins the parity schema change: the report written through it equals, value for value, the
report latdeploy 0.1 wrote through Lava for the same model and samples, once that old report is read
through :func:`latdeploy.verify.schema.upgrade_parity` (the fixed-point simulator equals Lava bit
for bit, so only the ``"hardware"`` name differs).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from latdeploy.backends.base import BACKENDS, BackendRun
from latdeploy.backends.select import backend_for_target, get_backend, target_names
from latdeploy.cli import cli
from latdeploy.flows.run import run_backends, run_file
from latdeploy.ir import Graph
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.verify.schema import upgrade_parity

OLD_EXPORT_PARITY = Path(__file__).resolve().parents[1] / "verify" / "data" / "parity_0.1_export.json"


class FixedPointBackend:
    """The fixed-point simulator as a backend, with Lava's schedule of hardware steps."""

    name = "fixed-sim-test"
    target = "fixed-sim-test-target"
    label = "fixed-point simulator under test"
    short_label = "FixSim"
    run_config = "simulate_fixed"

    def run(self, graph: Graph, spikes: np.ndarray, timeout: float | None = None) -> BackendRun:
        started = time.perf_counter()
        trace = simulate_fixed(graph, spikes)
        samples, timesteps = spikes.shape[:2]
        steps = samples * (timesteps + graph.max_delay()) + max(graph.lag(n.name) for n in graph.neurons())
        return BackendRun(trace=trace, seconds=time.perf_counter() - started, hardware_steps=steps)

    def versions(self) -> dict[str, str]:
        return {"fixed-sim-test": "1"}


@pytest.fixture
def registered():
    backend = BACKENDS.add(FixedPointBackend.name, FixedPointBackend())
    yield backend
    BACKENDS.remove(FixedPointBackend.name)
    assert FixedPointBackend.name not in BACKENDS


def test_a_registered_backend_is_a_choice_everywhere(registered):
    assert get_backend("fixed-sim-test") is registered
    assert backend_for_target("fixed-sim-test-target") is registered
    assert target_names() == ["loihi2-sim", "xylo-sim", "fixed-sim-test-target"]
    assert run_backends() == ["fixed", "float", "lava", "xylo", "fixed-sim-test"]


def test_export_and_verify_run_on_a_backend_registered_by_a_test(registered, shipped_model_path, tmp_path):
    out = tmp_path / "digits.latdeploy"
    args = ["export", str(shipped_model_path), "--target", "fixed-sim-test-target", "--samples", "3", "-o", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "fixed vs FixSim: 0 mismatches" in result.output and "FixSim steps in one run" in result.output
    parity = json.loads((out / "parity.json").read_text())
    assert parity["hardware"] == "fixed-sim-test"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["target"] == "fixed-sim-test-target" and manifest["run_config"] == "simulate_fixed"
    assert manifest["fixed-sim-test"] == "1" and "lava-nc" not in manifest
    assert "<h2>Parity: fixed point vs fixed-point simulator under test" in (out / "report.html").read_text()

    old = json.loads(OLD_EXPORT_PARITY.read_text())
    added = ("schema_version", "gates")  # parity.json's version 2 keys, which the old file predates
    upgraded = {key: value for key, value in upgrade_parity(old).items() if key not in added}
    assert upgraded == {**{key: value for key, value in parity.items() if key not in added}, "hardware": "lava"}

    args = ["verify", str(out), "--backend", "fixed-sim-test", "--samples", "5", "--hardware-samples", "2", "--json"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["hardware"] == "fixed-sim-test" and report["hardware_samples"] == 2
    assert report["fixed_vs_hardware"] == {"compared": 2 * 8 * (128 + 10), "mismatches": 0, "first_divergence": None}

    spikes = (np.random.default_rng(0).random((2, 64, 8)) < 0.3).astype(np.uint8)
    ran, fixed = run_file(out, spikes, "fixed-sim-test"), run_file(out, spikes, "fixed")
    assert ran.summary()["backend"] == "fixed-sim-test" and ran.summary()["hardware_steps"] == 2 * 8 + 2
    assert np.array_equal(ran.trace.output().spikes, fixed.trace.output().spikes)


def test_an_unknown_backend_or_target_is_refused_naming_the_registered_ones():
    with pytest.raises(Exception, match=r"no backend for speck; supported: lava, xylo"):
        get_backend("speck")
    with pytest.raises(Exception, match=r"unknown target 'speck-sim'; supported: \['loihi2-sim', 'xylo-sim'\]"):
        backend_for_target("speck-sim")
    result = CliRunner().invoke(cli, ["verify", "x.pt", "--backend", "fixed-sim-test"])
    assert (
        result.exit_code != 0
        and "Invalid value for '--backend': 'fixed-sim-test' is not one of 'lava', 'xylo'" in result.output
    )
