"""Ordinary faults while writing are user errors: a full file system (a real tmpfs), a read-only
bind mount, /proc, a parent that is a file, a name too long, a directory where a file goes. Each
exits 2 with one line ``error: <path>: <reason>`` and leaves no temporary file. The mounts need
root (the CI runs as root); elsewhere those cases are skipped with the reason."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from latdeploy import cli, errors
from latdeploy.errors import OutputPathError
from latdeploy.report.bundle import atomic_file, dump_json, write_bundle
from tests.conftest import SHIPPED_MODEL


def _run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["latdeploy", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    return exit_info.value.code, capsys.readouterr().err


@contextlib.contextmanager
def mounted(target: Path, *arguments: str) -> Iterator[Path]:
    """Mount (``mount ARGUMENTS TARGET``) for the block and unmount after; skip where not permitted."""
    target.mkdir(exist_ok=True)
    done = subprocess.run(["mount", *arguments, str(target)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here (root and CAP_SYS_ADMIN needed): {done.stderr.strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=True)


@contextlib.contextmanager
def full_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real tmpfs of 256 KiB, filled up."""
    with mounted(tmp_path / "full", "-t", "tmpfs", "-o", "size=256k", "tmpfs") as full:
        with contextlib.suppress(OSError), (full / "filler").open("wb") as handle:
            while True:
                handle.write(b"\0" * 4096)
                handle.flush()
        yield full


@contextlib.contextmanager
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A read-only bind mount of a directory holding one file of the user's."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "notes.txt").write_text("mine\n")
    with mounted(tmp_path / "ro", "--bind", str(source)) as target:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)
        yield target


def _assert_one_line(stderr: str, *fragments: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert all(fragment in lines[0] for fragment in fragments), stderr


def test_no_space_left_on_a_full_tmpfs(tmp_path, monkeypatch, capsys):
    with full_tmpfs(tmp_path) as full:
        before = sorted(p.name for p in full.iterdir())
        code, stderr = _run_cli(monkeypatch, capsys, "map", str(SHIPPED_MODEL), "-o", str(full / "m.json"))
        assert code == errors.EXIT_USER_ERROR
        _assert_one_line(stderr, str(full / "m.json"), "No space left on device")
        with pytest.raises(OutputPathError, match="No space left on device"):
            write_bundle(full / "b.latdeploy", {"a.json": lambda p: p.write_text("x" * 1_000_000)})
        with pytest.raises(OutputPathError, match="No space left on device"):
            with atomic_file(full / "c.npy") as temporary:
                temporary.write_bytes(b"x" * 1_000_000)
        assert sorted(p.name for p in full.iterdir()) == before


def test_export_into_a_full_tmpfs_exits_2_and_leaves_nothing(tmp_path):
    with full_tmpfs(tmp_path) as full:
        before = sorted(p.name for p in full.iterdir())
        done = subprocess.run(
            [sys.executable, "-m", "latdeploy.cli", "export", str(SHIPPED_MODEL), "-o", str(full / "b"), "--samples",
             "2", "--quiet"],
            capture_output=True,
            text=True,
            timeout=600,
        )  # fmt: skip
        assert done.returncode == errors.EXIT_USER_ERROR, done.stderr
        _assert_one_line(done.stderr, str(full / "b"), "No space left on device")
        assert sorted(p.name for p in full.iterdir()) == before


def test_read_only_mount(tmp_path, monkeypatch, capsys):
    with read_only(tmp_path) as target:
        for args in (
            ["export", str(SHIPPED_MODEL), "-o", str(target / "b.latdeploy")],
            ["map", str(SHIPPED_MODEL), "-o", str(target / "deeper" / "m.json")],
        ):
            code, stderr = _run_cli(monkeypatch, capsys, *args)
            assert code == errors.EXIT_USER_ERROR
            _assert_one_line(stderr, "Read-only file system")
        with pytest.raises(OutputPathError, match="Read-only file system"):
            write_bundle(target / "b.latdeploy", {"manifest.json": lambda p: p.write_text(dump_json({}))})
        assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    ("out", "reason"),
    [
        ("/proc/latdeploy/m.json", "No such file or directory"),
        ("notes.txt/m.json", "is not a directory"),
        ("a" * 300 + ".json", "File name too long"),
        ("sub", "is a directory"),
    ],
)
def test_ordinary_faults_are_one_line_user_errors(tmp_path, monkeypatch, capsys, out, reason):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine\n")
    (tmp_path / "sub").mkdir()
    code, stderr = _run_cli(monkeypatch, capsys, "map", str(SHIPPED_MODEL), "-o", out)
    assert code == errors.EXIT_USER_ERROR
    _assert_one_line(stderr, reason)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "sub"]
    assert (tmp_path / "notes.txt").read_text() == "mine\n" and list((tmp_path / "sub").iterdir()) == []


def test_writing_into_a_directory_without_permission(tmp_path, monkeypatch, capsys):
    if os.geteuid() == 0:
        pytest.skip("root may write into any directory: EACCES cannot be provoked by permissions")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code, stderr = _run_cli(monkeypatch, capsys, "map", str(SHIPPED_MODEL), "-o", str(locked / "m.json"))
    assert code == errors.EXIT_USER_ERROR
    _assert_one_line(stderr, "Permission denied")
