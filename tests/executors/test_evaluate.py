"""Chunked evaluation on the local executor: the same parity.json, energy, rasters and HTML as one
whole run (real Lava on the shipped MLP and conv net), memory limits, retries and refusals."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from latdeploy import cli as latdeploy_cli
from latdeploy.backends.base import BACKENDS
from latdeploy.backends.lava.backend import LavaBackend
from latdeploy.cli.commands import cli
from latdeploy.errors import EXIT_USER_ERROR, BackendError, LatdeployError, ResourceError
from latdeploy.executors.evaluate import Execution, open_evaluator, sample_ranges
from latdeploy.flows.energy import energy_of_source
from latdeploy.flows.export import export
from latdeploy.flows.verify import load_subject, verify
from latdeploy.sim.budget import plan_chunks, simulation_bytes
from latdeploy.verify.corrupt import parse_corruptions

MODELS = Path(__file__).resolve().parents[2] / "models"
CONV = MODELS / "digits_ttfs_convnet.pt"


def _verified(subject, execution, samples=12, hardware_samples=5, corrupt=""):
    with open_evaluator(execution) as evaluator:
        result = verify(subject, samples, hardware_samples, parse_corruptions(corrupt), evaluator=evaluator)
    return result, evaluator.record.as_dict()


def _same(a, b) -> None:
    assert json.dumps(a.report, sort_keys=True) == json.dumps(b.report, sort_keys=True)
    assert a.rasters.keys() == b.rasters.keys()
    assert a.html("t") == b.html("t")


def test_sample_ranges_cover_every_sample_once():
    assert sample_ranges(7, 3) == [(0, 3), (3, 6), (6, 7)]
    assert sample_ranges(2, 5) == [(0, 2)]


def test_chunks_of_the_mlp_give_the_report_rasters_and_html_of_one_run(shipped_model_path):
    subject = load_subject(shipped_model_path, weight_bits=2)  # 2 bits: a first divergence to explain
    whole, whole_record = _verified(subject, None, hardware_samples=3, corrupt="salt_pepper:0.1")
    chunked, record = _verified(subject, Execution(chunk_samples=2), hardware_samples=3, corrupt="salt_pepper:0.1")
    _same(whole, chunked)
    assert whole.report["float_vs_fixed"]["first_divergence"] is not None
    # float, fixed, Lava, then the corruption's simulators and its Lava run: one chunk each, or 6+6+2+6+2
    assert (whole_record["chunks"], record["chunks"]) == (5, 22)
    assert record["retries"] == []


@pytest.mark.slow  # 30 s; tests/executors/test_ray.py compares chunks of this net on Ray with one local run
def test_chunks_of_the_conv_net_give_the_same_report_and_lava_steps():
    subject = load_subject(CONV)
    whole, _ = _verified(subject, None, samples=6, hardware_samples=3)
    chunked, record = _verified(subject, Execution(chunk_samples=2), samples=6, hardware_samples=3)
    _same(whole, chunked)
    assert record["chunks"] == 3 + 3 + 2
    assert chunked.report["fixed_vs_hardware"]["mismatches"] == 0


def test_a_memory_limit_splits_the_samples_and_changes_nothing(shipped_model_path):
    subject = load_subject(shipped_model_path)
    steps = subject.int_graph.timesteps
    plans = [plan_chunks(subject.int_graph, 40, steps, name, 1 << 40) for name in ("float", "fixed")]
    one = [simulation_bytes(subject.int_graph, 1, steps, name) for name in ("float", "fixed")]
    limit = max(plan.peak_bytes - 30 * size for plan, size in zip(plans, one, strict=True))  # >= 10 per chunk
    assert min(plan_chunks(subject.int_graph, 40, steps, name, limit).chunk for name in ("float", "fixed")) < 40
    whole, _ = _verified(subject, None, samples=40, hardware_samples=2)
    bounded, record = _verified(subject, Execution(memory_limit=limit), samples=40, hardware_samples=2)
    _same(whole, bounded)
    assert record["chunks"] > 3


def test_energy_in_chunks_counts_the_same(shipped_model_path):
    _, whole = energy_of_source(shipped_model_path, samples=30)
    _, chunked = energy_of_source(shipped_model_path, samples=30, execution=Execution(chunk_samples=7))
    assert json.dumps(whole, sort_keys=True) == json.dumps(chunked, sort_keys=True)


def test_export_in_chunks_writes_the_same_bundle(shipped_model_path, tmp_path):
    first = export(shipped_model_path, out=tmp_path / "whole.latdeploy", samples=6)
    second = export(
        shipped_model_path, out=tmp_path / "chunks.latdeploy", samples=6, execution=Execution(chunk_samples=4)
    )
    for name in ("parity.json", "energy.json", "report.html", "graph.int.onnx"):
        assert (first.out / name).read_bytes() == (second.out / name).read_bytes(), name
    assert (first.executor["chunks"], second.executor["chunks"]) == (3, 6)


def _main(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """Run the ``latdeploy`` entry point in this process; return its exit code and stderr."""
    monkeypatch.setattr(sys, "argv", ["latdeploy", *args])
    with pytest.raises(SystemExit) as exit_info:
        latdeploy_cli.main()
    return exit_info.value.code, capsys.readouterr().err


def test_an_input_that_cannot_fit_is_refused_up_front_with_the_figure_and_the_limit(
    shipped_model_path, monkeypatch, capsys
):
    subject = load_subject(shipped_model_path)
    with pytest.raises(ResourceError, match=r"MiB of memory .* more than the limit of 1\.0 MiB"):
        _verified(subject, Execution(memory_limit=1 << 20), samples=360, hardware_samples=1)
    code, err = _main(
        monkeypatch, capsys, "verify", str(shipped_model_path), "--samples", "all", "--memory-limit", "1M"
    )
    assert code == EXIT_USER_ERROR
    assert len(err.strip().splitlines()) == 1 and "more than the limit of 1.0 MiB" in err


class FlakyLava(LavaBackend):
    """Real Lava, whose 2nd .. (1 + ``failures``)th runs fail as a crashed Lava runtime would (the
    local executor runs chunks in order and queues a retry behind the rest)."""

    name = "flaky-lava"
    target = "flaky-lava-sim"

    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, 0

    def run(self, graph, spikes, timeout=None):
        self.calls += 1
        if 2 <= self.calls <= 1 + self.failures:
            raise BackendError("Lava run failed: simulated crash of the runtime")
        return super().run(graph, spikes, timeout)


@pytest.fixture
def flaky_lava():
    def register(failures: int) -> FlakyLava:
        return BACKENDS.add(FlakyLava.name, FlakyLava(failures))

    yield register
    BACKENDS.remove(FlakyLava.name)


def test_a_failed_chunk_is_retried_recorded_and_nothing_is_counted_twice(shipped_model_path, flaky_lava):
    subject = load_subject(shipped_model_path)
    whole, _ = _verified(subject, None, samples=6, hardware_samples=4)
    backend = flaky_lava(failures=1)
    with open_evaluator(Execution(chunk_samples=2)) as evaluator:
        retried = verify(subject, 6, 4, backend=backend, evaluator=evaluator)
    whole.report["hardware"] = retried.report["hardware"]
    assert json.dumps(whole.report, sort_keys=True) == json.dumps(retried.report, sort_keys=True)
    assert evaluator.record.retries == [
        {
            "part": "hardware",
            "samples": [2, 3],
            "attempts": 2,
            "errors": ["BackendError: Lava run failed: simulated crash of the runtime"],
        }
    ]


def test_a_chunk_that_fails_every_try_is_reported_with_its_sample_range(shipped_model_path, flaky_lava):
    subject = load_subject(shipped_model_path)
    backend = flaky_lava(failures=5)
    with pytest.raises(BackendError, match=r"hardware samples 2\.\.3 failed 3 time\(s\) on the local executor"):
        with open_evaluator(Execution(chunk_samples=2)) as evaluator:
            verify(subject, 6, 4, backend=backend, evaluator=evaluator)


def test_missing_ray_is_one_line_naming_the_extra(shipped_model_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed: importing it fails
    with pytest.raises(LatdeployError, match=r"pip install 'latdeploy\[ray\]'"):
        with open_evaluator(Execution(executor="ray")):
            pass
    code, err = _main(monkeypatch, capsys, "energy", str(shipped_model_path), "--samples", "2", "--executor", "ray")
    assert code == EXIT_USER_ERROR
    assert len(err.strip().splitlines()) == 1 and "pip install 'latdeploy[ray]'" in err


def test_ray_address_needs_the_ray_executor(shipped_model_path):
    result = CliRunner().invoke(cli, ["energy", str(shipped_model_path), "--ray-address", "localhost:6379"])
    assert result.exit_code == EXIT_USER_ERROR and "--ray-address needs --executor ray" in result.output
