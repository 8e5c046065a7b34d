"""Interrupting an export: SIGINT/SIGTERM mid Lava run, a Lava timeout, a signal while the
bundle is written. Each must leave no partial bundle, no temporary directory and no
Lava process alive."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from latdeploy.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USER_ERROR
from tests.conftest import SHIPPED_MODEL

LAVA_CHILDREN = 4  # Lava forks a process per ProcessModel plus runtime service, shared memory and watchdog managers


def _default_sigint() -> None:
    """Give the child the default SIGINT disposition, as a terminal would.

    A job started in the background by a non-interactive shell (``cmd &``) inherits SIGINT
    ignored, and Python then installs no KeyboardInterrupt handler; without this the SIGINT
    tests would depend on how the test run was launched.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _export(tmp_path, *extra: str) -> psutil.Popen:
    return psutil.Popen(
        [sys.executable, "-m", "latdeploy.cli", "export", str(SHIPPED_MODEL), "-o", str(tmp_path / "b.latdeploy")]
        + list(extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )


def _wait_for_lava_run(process: psutil.Popen, timeout: float = 240) -> list[psutil.Process]:
    """Return the export's child processes once Lava's runtime has started them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        children = [c for c in process.children(recursive=True) if "resource_tracker" not in " ".join(c.cmdline())]
        if len(children) >= LAVA_CHILDREN:
            time.sleep(1.0)  # let the run get going
            return process.children(recursive=True)
        time.sleep(0.2)
    process.kill()
    raise AssertionError("the Lava run did not start in time")


def _assert_all_gone(processes: list[psutil.Process], timeout: float = 20) -> None:
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, [(p.pid, p.cmdline()) for p in alive]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, EXIT_INTERRUPTED), (signal.SIGTERM, EXIT_TERMINATED)])
def test_signal_during_lava_run_leaves_no_bundle_and_no_process(tmp_path, signum, code):
    process = _export(tmp_path, "--samples", "360")
    children = _wait_for_lava_run(process)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    assert "interrupted by" in stderr and "Traceback" not in stderr and "leaked" not in stderr
    assert list(tmp_path.iterdir()) == []
    _assert_all_gone(children)


def test_lava_timeout_stops_the_run_exit_2_without_bundle_or_process(tmp_path):
    process = _export(tmp_path, "--samples", "360", "--lava-timeout", "1")  # the 2,882 steps take ~2 s idle
    children: dict[int, psutil.Process] = {}
    deadline = time.monotonic() + 240
    while process.poll() is None and time.monotonic() < deadline:
        try:
            children.update({c.pid: c for c in process.children(recursive=True)})
        except psutil.NoSuchProcess:
            break
        time.sleep(0.1)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == EXIT_USER_ERROR, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "took longer than --lava-timeout 1 s" in lines[0], stderr
    assert list(tmp_path.iterdir()) == []
    _assert_all_gone(list(children.values()))


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from latdeploy.cli.app import main
    from latdeploy.report.bundle import write_bundle
    import latdeploy.cli.app as app
    import click

    @app.cli.command("slow-bundle")
    @click.argument("out")
    @click.argument("ready")
    def slow_bundle(out, ready):
        def slow(path):
            Path(ready).write_text("writing")
            time.sleep(120)
        write_bundle(Path(out), {"a.json": lambda p: p.write_text("new"), "b.json": slow})

    main()
    """
)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, EXIT_INTERRUPTED), (signal.SIGTERM, EXIT_TERMINATED)])
def test_signal_while_the_bundle_is_written_keeps_the_old_bundle_and_no_temporary(tmp_path, signum, code):
    work = tmp_path / "work"
    work.mkdir()
    out, ready = work / "b.latdeploy", tmp_path / "ready"
    out.mkdir()
    (out / "a.json").write_text("old")
    (out / "manifest.json").write_text('{"latdeploy": "old", "files": ["a.json"]}')
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, "slow-bundle", str(out), str(ready)],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.1)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert [p.name for p in work.iterdir()] == ["b.latdeploy"]
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "manifest.json"]
    assert (out / "a.json").read_text() == "old"
