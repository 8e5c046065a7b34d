"""The CLI's exit codes: the documented table in docs/commands.md equals latdeploy.errors, and each
code is what the CLI returns (0, 2 and 3 with real exports are in tests/test_cli.py, 129/130/143
in tests/hardening/test_interrupt.py and test_signals.py)."""

from __future__ import annotations

import re
import sys

import pytest

import latdeploy.flows.export
from latdeploy import cli, errors
from tests.conftest import ROOT, SHIPPED_MODEL

DOCUMENTED = {
    "success": errors.EXIT_OK,
    "internal error": errors.EXIT_INTERNAL_ERROR,
    "user error": errors.EXIT_USER_ERROR,
    "parity failure": errors.EXIT_PARITY_FAILURE,
    "gate failure": errors.EXIT_GATE_FAILURE,
    "Ctrl-C": errors.EXIT_INTERRUPTED,
    "SIGTERM": errors.EXIT_TERMINATED,
    "SIGHUP": errors.EXIT_HANGUP,
}


def test_the_docs_document_every_exit_code():
    page = (ROOT / "docs" / "commands.md").read_text()
    section = page.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(\d+)` \| ([^|]+?) \|", section, flags=re.M))
    for meaning, code in DOCUMENTED.items():
        assert meaning in rows.get(str(code), ""), f"docs/commands.md's exit-code table lacks {code} ({meaning})"
    readme = (ROOT / "README.md").read_text()
    assert all(f"`{code}`" in readme.split("### Exit status", 1)[1] for code in DOCUMENTED.values())
    assert len({*DOCUMENTED.values()}) == len(DOCUMENTED)


def _run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["latdeploy", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    return exit_info.value.code, capsys.readouterr().err


def test_a_bug_exits_1_with_one_line(monkeypatch, capsys, tmp_path):
    def broken_profile(name):
        return {}["no such key: a bug in latdeploy"]

    monkeypatch.setattr(latdeploy.flows.export, "load_profile", broken_profile)
    code, stderr = _run_cli(monkeypatch, capsys, "export", str(SHIPPED_MODEL), "-o", str(tmp_path / "b"))
    assert code == errors.EXIT_INTERNAL_ERROR
    assert stderr.startswith("internal error: KeyError") and len(stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "absent.pt"], "absent.pt: no such model file"),
        (
            ["export", str(SHIPPED_MODEL), "--lava-timeout", "0"],
            "Invalid value for '--hardware-timeout' / '--lava-timeout'",
        ),
        (["export", str(SHIPPED_MODEL), "--samples", "0"], "Invalid value for '--samples'"),
        (["no-such-command"], "No such command"),
    ],
)
def test_user_errors_exit_2(monkeypatch, capsys, args, message):
    code, stderr = _run_cli(monkeypatch, capsys, *args)
    assert code == errors.EXIT_USER_ERROR and message in stderr and "Traceback" not in stderr


def test_success_exits_0(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["latdeploy", "--version"])
    try:
        cli.main()
        code = errors.EXIT_OK
    except SystemExit as exit_info:
        code = exit_info.code or errors.EXIT_OK
    assert code == errors.EXIT_OK and "version" in capsys.readouterr().out
