"""Signals at several points of an export (during ``import torch``, during the fixed-point part,
during the Lava run), sent as a terminal sends them, to the whole process group: SIGINT, SIGTERM
and SIGHUP print one line and exit 130/143/129; SIGKILL of the main process takes every Lava
child with it (PR_SET_PDEATHSIG). Afterwards: the user's files byte-identical, no temporary
file, no shared-memory segment or run directory of the run (the run after a SIGKILL removes
those), and no process of the run alive (found by a marker in their environment)."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import psutil
import pytest

from latdeploy.errors import EXIT_HANGUP, EXIT_INTERRUPTED, EXIT_TERMINATED
from tests.conftest import ROOT, SHIPPED_MODEL
from tests.hardening.test_output_paths import snapshot

STOPS = [(signal.SIGINT, EXIT_INTERRUPTED), (signal.SIGTERM, EXIT_TERMINATED), (signal.SIGHUP, EXIT_HANGUP)]
LAVA_CHILDREN = 4
MARKER = "LATDEPLOY_TEST_RUN"

PAUSED_IN_FIXED_POINT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import latdeploy.executors.chunk_task as chunk_task

    real, ready = chunk_task.SIMULATE["fixed"], Path(sys.argv[1])

    def slow_fixed(*args, **kwargs):
        ready.write_text("in the fixed-point simulator")
        time.sleep(60)
        return real(*args, **kwargs)

    chunk_task.SIMULATE["fixed"] = slow_fixed
    sys.argv = ["latdeploy", *sys.argv[2:]]
    from latdeploy.cli import main
    main()
    """
)


def _default_signals() -> None:
    """A terminal's dispositions (a background job of a non-interactive shell inherits SIGINT ignored)."""
    for number in (signal.SIGINT, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)


def _start(tmp_path: Path, *prefix: str, samples: str = "360") -> tuple[psutil.Popen, str]:
    marker = uuid.uuid4().hex
    command = [*prefix, "export", str(SHIPPED_MODEL), "-o", str(tmp_path / "b.latdeploy"), "--samples", samples]
    process = psutil.Popen(
        [sys.executable, *command, "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, MARKER: marker, "PYTHONPATH": str(ROOT)},
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=_default_signals,
    )
    return process, marker


def _marked(marker: str) -> list[psutil.Process]:
    found = []
    for candidate in psutil.process_iter():
        try:
            if candidate.environ().get(MARKER) == marker and candidate.status() != psutil.STATUS_ZOMBIE:
                found.append(candidate)
        except (psutil.Error, OSError):
            continue
    return found


def _wait(condition, timeout: float, what: str, process: psutil.Popen) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the export ended before {what}: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _importing_torch(process: psutil.Popen) -> bool:
    try:
        return any("torch" in mapping.path for mapping in process.memory_maps())
    except psutil.Error:
        return False


def _lava_running(process: psutil.Popen) -> bool:
    try:
        children = [c for c in process.children(recursive=True) if "resource_tracker" not in " ".join(c.cmdline())]
    except psutil.Error:
        return False
    return len(children) >= LAVA_CHILDREN


def _run_state(pid: int) -> list[str]:
    return glob.glob(f"/dev/shm/psm_{pid}_*") + glob.glob(
        os.path.join(tempfile.gettempdir(), f"latdeploy-lava.{pid}.*")
    )


def _reach(point: str, tmp_path: Path) -> tuple[psutil.Popen, str]:
    if point == "import":
        process, marker = _start(tmp_path, "-m", "latdeploy.cli")
        _wait(lambda: _importing_torch(process), 120, "import torch", process)
    elif point == "fixed-point":
        ready = tmp_path.parent / f"{tmp_path.name}.ready"
        process, marker = _start(tmp_path, "-c", PAUSED_IN_FIXED_POINT, str(ready))
        _wait(ready.exists, 240, "the fixed-point simulator", process)
        ready.unlink()
    else:
        process, marker = _start(tmp_path, "-m", "latdeploy.cli")
        _wait(lambda: _lava_running(process), 240, "the Lava run", process)
        time.sleep(0.5)
    return process, marker


def _assert_nothing_left(process: psutil.Popen, marker: str, tmp_path: Path, before: dict[str, str]) -> None:
    deadline = time.monotonic() + 30
    while _marked(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _marked(marker), [(p.pid, p.cmdline()) for p in _marked(marker)]
    assert snapshot(tmp_path) == before  # the user's file as it was; no bundle, no temporary


@pytest.mark.parametrize("point", ["import", "fixed-point", "lava"])
@pytest.mark.parametrize(("signum", "code"), STOPS, ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_to_the_group_is_one_line_and_leaves_nothing(tmp_path, point, signum, code):
    (tmp_path / "thesis.tex").write_text("mine\n")
    before = snapshot(tmp_path)
    process, marker = _reach(point, tmp_path)
    os.killpg(process.pid, signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0] == f"interrupted by {'Ctrl-C' if signum == signal.SIGINT else signum.name}"
    _assert_nothing_left(process, marker, tmp_path, before)
    assert _run_state(process.pid) == []


@pytest.mark.parametrize("point", ["import", "fixed-point", "lava"])
def test_sigkill_of_the_main_process_takes_its_children_and_the_next_run_cleans_up(tmp_path, point):
    (tmp_path / "thesis.tex").write_text("mine\n")
    before = snapshot(tmp_path)
    process, marker = _reach(point, tmp_path)
    process.kill()
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    _assert_nothing_left(process, marker, tmp_path, before)
    if point != "lava":
        assert _run_state(process.pid) == []
        return
    following, _ = _start(tmp_path, "-m", "latdeploy.cli", samples="1")
    _, stderr = following.communicate(timeout=600)
    assert following.returncode == 0, stderr
    assert _run_state(process.pid) == [] and _run_state(following.pid) == []


SWALLOWED = """
import os, signal
from latdeploy.cli.interrupts import exit_interrupted, handle_interrupts
from latdeploy.errors import raise_if_interrupted

handle_interrupts()
os.register_at_fork(after_in_parent=lambda: os.kill(os.getpid(), signal.SIGTERM))
try:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    raise_if_interrupted()
    print("finished")
except KeyboardInterrupt as error:
    exit_interrupted(error)
"""


def test_a_signal_whose_exception_python_swallows_in_an_at_fork_hook_still_stops_with_one_line():
    """Lava forks its workers; a signal handled inside the parent's at-fork hook (as logging's
    lock release is) raises where Python ignores exceptions. It must still end the command."""
    process = subprocess.run([sys.executable, "-c", SWALLOWED], capture_output=True, text=True, timeout=60)
    assert (process.returncode, process.stdout, process.stderr) == (143, "", "interrupted by SIGTERM\n")
