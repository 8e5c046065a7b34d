"""``--executor ray`` on a real local Ray cluster of two workers, started by these tests: the same
parity report as the local executor, also when a worker is killed in the middle of its task."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from latdeploy.cli.commands import cli
from latdeploy.executors.evaluate import Execution, open_evaluator
from latdeploy.flows.verify import load_subject, verify

ray = pytest.importorskip("ray", reason="the 'ray' extra is not installed")

MODELS = Path(__file__).resolve().parents[2] / "models"
CONV = MODELS / "digits_ttfs_convnet.pt"
MLP = MODELS / "digits_mlp.pt"
TASK_TITLE = "ray::evaluate_chunk"
"""The process title of a Ray worker while it runs a chunk task."""


@pytest.mark.slow
def test_the_command_starts_its_own_local_ray_and_counts_what_the_local_executor_counts():
    """No cluster given and none running: ``--executor ray`` starts a local Ray and stops it (this test
    runs before the module's cluster starts)."""

    def energy(*options: str) -> dict:
        command = [sys.executable, "-m", "latdeploy.cli", "energy", str(MLP), "--samples", "5", "--json", *options]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    assert energy("--executor", "ray", "--chunk-samples", "2") == energy()


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster with two worker CPUs for this module's tests, stopped afterwards."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield
    ray.shutdown()


def _verify_json(*options: str) -> dict:
    args = ["verify", str(CONV), "--samples", "4", "--hardware-samples", "2", "--json", *options]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_verify_on_ray_gives_the_json_of_the_local_executor(ray_cluster):
    on_ray = _verify_json("--executor", "ray")
    local = _verify_json()
    assert on_ray.pop("executor") == {"executor": "ray", "chunks": 2 + 2 + 2, "retries": []}
    assert local.pop("executor") == {"executor": "local", "chunks": 3, "retries": []}
    assert on_ray == local
    assert on_ray["fixed_vs_hardware"]["mismatches"] == 0


def _is_ray_process(process: psutil.Process | None) -> bool:
    try:
        return process is not None and (process.cmdline() or [""])[0].startswith("ray::")
    except psutil.Error:
        return False


def _kill_one_running_task(killed: list[int], lava_stage: threading.Event, stop: threading.Event) -> None:
    """Once the Lava stage has begun, kill (SIGKILL) the first Ray worker seen running a chunk task
    with Lava under it, and record its pid."""
    lava_stage.wait()
    while not stop.is_set():
        for process in psutil.process_iter(["pid", "cmdline"]):
            cmdline = process.info["cmdline"] or []
            # a worker (Lava's processes, forked from it, carry its title too) with Lava running under it
            if cmdline and cmdline[0].startswith(TASK_TITLE) and not _is_ray_process(process.parent()):
                if process.children():
                    process.kill()
                    killed.append(process.info["pid"])
                    return
        time.sleep(0.05)


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_retried_and_the_results_are_the_same(ray_cluster):
    subject = load_subject(CONV)
    with open_evaluator() as local:
        expected = verify(subject, 6, 4, evaluator=local)
    killed: list[int] = []
    lava_stage, stop = threading.Event(), threading.Event()
    killer = threading.Thread(target=_kill_one_running_task, args=(killed, lava_stage, stop), daemon=True)
    killer.start()

    def on_stage(name: str) -> None:
        if name == "Lava":  # float and fixed point are done: only Lava chunks run from here on
            lava_stage.set()

    try:
        with open_evaluator(Execution(executor="ray", chunk_samples=1)) as evaluator:
            result = verify(subject, 6, 4, progress=on_stage, evaluator=evaluator)
    finally:
        stop.set()
        lava_stage.set()
        killer.join()
    assert len(killed) == 1
    assert json.dumps(result.report, sort_keys=True) == json.dumps(expected.report, sort_keys=True)
    (retry,) = evaluator.record.retries
    assert retry["part"] == "hardware" and retry["attempts"] == 2
    assert retry["samples"][0] == retry["samples"][1] and 0 <= retry["samples"][0] < 4
    assert retry["errors"][0].startswith("TaskLostError: Ray task lost")
