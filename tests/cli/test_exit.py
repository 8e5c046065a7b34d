"""The program's successful end: ``os._exit`` after the atexit handlers and a flush, with every byte
written (latdeploy.cli._exit_now); failures and in-process callers exit as usual."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from latdeploy.cli import main


def test_a_successful_run_as_the_program_writes_everything_and_exits_0(tmp_path, shipped_model_path):
    out = tmp_path / "mapping.json"
    command = [sys.executable, "-m", "latdeploy.cli", "map", str(shipped_model_path), "-o", str(out), "--json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(out.read_text())  # stdout flushed in full, the file complete
    code = "import atexit; atexit.register(print, 'handler ran'); from latdeploy.cli import main; main()"
    script = tmp_path / "program.py"
    script.write_text(code)
    ran = subprocess.run(
        [sys.executable, str(script), "map", str(shipped_model_path)], capture_output=True, text=True, timeout=300
    )
    assert ran.returncode == 0 and ran.stdout.rstrip().endswith("handler ran")  # atexit handlers still run


def test_a_failing_run_as_the_program_keeps_its_exit_status(tmp_path):
    missing = tmp_path / "missing.pt"
    result = subprocess.run(
        [sys.executable, "-m", "latdeploy.cli", "map", str(missing)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2 and str(missing) in result.stderr


def test_called_from_other_code_main_returns_instead_of_ending_the_process(shipped_model_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["latdeploy", "map", str(shipped_model_path)])
    main()  # a successful command returns here: the test process goes on
    assert "total" in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", ["latdeploy", "--version"])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 0
