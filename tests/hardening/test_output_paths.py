"""Output paths that cannot destroy anything (latdeploy.report.output_paths): a directory of the
user's files, the model's own directory, the model file itself, ``.`` and ``''`` survive every
command's output option byte for byte, with exit 2 and one line saying why, before any work."""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from latdeploy import cli, errors
from latdeploy.errors import OutputPathError
from latdeploy.report.bundle import dump_json, write_bundle
from latdeploy.report.output_paths import check_directory_output, check_file_output, is_latdeploy_directory
from tests.conftest import SHIPPED_MODEL


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` with the sha256 of its bytes ("dir" for directories)."""
    return {
        str(path.relative_to(root)): "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
    }


def _run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["latdeploy", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    return exit_info.value.code, capsys.readouterr().err


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A user's directory: their files, a model directory with the model and a second model."""
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "thesis.tex").write_text("\\chapter{results}\n")
    (tmp_path / "thesis" / "sub").mkdir()
    (tmp_path / "thesis" / "sub" / "results.csv").write_text("a,b\n1,2\n")
    (tmp_path / "models").mkdir()
    shutil.copy(SHIPPED_MODEL, tmp_path / "models" / "m.pt")
    shutil.copy(SHIPPED_MODEL, tmp_path / "models" / "other.pt")
    (tmp_path / "notes.txt").write_text("mine\n")
    return tmp_path


@pytest.mark.parametrize(
    ("out", "reason"),
    [
        ("thesis", "holds files latdeploy did not write"),
        ("models", "holds the input"),
        ("models/m.pt", "is the input"),
        ("notes.txt", "existing file, not a latdeploy bundle"),
        (".", "holds the input"),
        ("", "holds the input"),
    ],
)
def test_export_never_writes_over_the_users_files(workspace, monkeypatch, capsys, out, reason):
    monkeypatch.chdir(workspace)
    before = snapshot(workspace)
    code, stderr = _run_cli(monkeypatch, capsys, "export", "models/m.pt", "-o", out, "--samples", "1", "--quiet")
    assert code == errors.EXIT_USER_ERROR, stderr
    assert reason in stderr and len(stderr.strip().splitlines()) == 1 and stderr.startswith("error: "), stderr
    assert snapshot(workspace) == before


def test_the_current_directory_is_refused_even_without_an_input_in_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for out in (".", "", str(tmp_path), str(tmp_path.parent)):
        with pytest.raises(OutputPathError, match="current directory"):
            check_directory_output(Path(out), [SHIPPED_MODEL])


def test_force_never_writes_over_an_input_or_a_directory_of_other_files(workspace, monkeypatch, capsys):
    monkeypatch.chdir(workspace)
    before = snapshot(workspace)
    for args in (
        ["export", "models/m.pt", "-o", "models", "--force"],
        ["export", "models/m.pt", "-o", "thesis", "--force"],
        ["map", "models/m.pt", "-o", "models/m.pt", "--force"],
        ["finetune", "models/m.pt", "-o", "models/m.pt", "--force"],
        ["sweep", "models/m.pt", "-o", "models", "--force"],
        ["verify", "models/m.pt", "--html", "models/m.pt", "--force"],
        ["run", "models/m.pt", "--input", "notes.txt", "-o", "notes.txt", "--force"],
        ["run", "models/m.pt", "--input", "notes.txt", "--all-layers", "thesis"],
    ):
        code, stderr = _run_cli(monkeypatch, capsys, *args)
        assert code == errors.EXIT_USER_ERROR and len(stderr.strip().splitlines()) == 1, (args, stderr)
    assert snapshot(workspace) == before


def test_single_file_outputs_replace_only_latdeploy_files_unless_forced(workspace, monkeypatch, capsys):
    monkeypatch.chdir(workspace)
    code, stderr = _run_cli(monkeypatch, capsys, "map", "models/m.pt", "-o", "notes.txt")
    assert code == errors.EXIT_USER_ERROR and "--force" in stderr and (workspace / "notes.txt").read_text() == "mine\n"
    monkeypatch.setattr(sys, "argv", ["latdeploy", "map", "models/m.pt", "-o", "mapping.json"])
    for _ in range(2):  # a new file, then over latdeploy's own mapping
        cli.main()
    assert '"total_cores"' in (workspace / "mapping.json").read_text()
    monkeypatch.setattr(sys, "argv", ["latdeploy", "map", "models/m.pt", "-o", "notes.txt", "--force"])
    cli.main()
    assert '"total_cores"' in (workspace / "notes.txt").read_text()
    assert sorted(p.name for p in workspace.iterdir()) == ["mapping.json", "models", "notes.txt", "thesis"]


def test_only_latdeploy_specific_content_is_replaced_without_force(tmp_path):
    """A mapping JSON or report latdeploy wrote may be replaced; an existing array or model file may be the
    user's own (nothing in it says otherwise), so it needs --force."""
    np.save(tmp_path / "a.npy", np.zeros(3))
    np.savez(tmp_path / "a.npz", x=np.zeros(3))
    (tmp_path / "a.csv").write_text("1,2\n")
    (tmp_path / "mapping.json").write_text('{"profile": "loihi2", "total_cores": 1, "layers": [], "cores": []}')
    shutil.copy(SHIPPED_MODEL, tmp_path / "m.pt")
    check_file_output(tmp_path / "mapping.json", "mapping")
    for path, kind in (
        (tmp_path / "a.npy", "npy"),
        (tmp_path / "a.npz", "npz"),
        (tmp_path / "m.pt", "model"),
        (tmp_path / "a.csv", "npy"),
        (tmp_path / "a.npz", "html"),
        (tmp_path / "a.csv", "mapping"),
    ):
        with pytest.raises(OutputPathError, match="did not write"):
            check_file_output(path, kind)
        check_file_output(path, kind, force=True)
    with pytest.raises(OutputPathError, match="is a directory"):
        check_file_output(tmp_path, "npy", force=True)
    with pytest.raises(OutputPathError, match="not a regular file"):
        check_file_output(Path("/dev/null"), "npy", force=True)


def test_the_users_own_array_and_model_file_survive_run_and_finetune(workspace, monkeypatch, capsys):
    monkeypatch.chdir(workspace)
    np.save(workspace / "spikes.npy", np.zeros((64, 8), np.uint8))
    np.save(workspace / "mine.npy", np.arange(5))
    before = snapshot(workspace)
    for args in (
        ["run", "models/m.pt", "--input", "spikes.npy", "-o", "mine.npy"],
        ["finetune", "models/m.pt", "-o", "models/other.pt", "--epochs", "1"],
    ):
        code, stderr = _run_cli(monkeypatch, capsys, *args)
        assert code == errors.EXIT_USER_ERROR and "did not write" in stderr and len(stderr.splitlines()) == 1, stderr
    assert snapshot(workspace) == before


def test_a_bundle_is_recognised_by_its_manifest_and_replaced(tmp_path):
    out = tmp_path / "b.latdeploy"
    manifest = {"latdeploy": "0.1.0", "files": ["parity.json"]}
    write_bundle(
        out, {"manifest.json": lambda p: p.write_text(dump_json(manifest)), "parity.json": lambda p: p.touch()}
    )
    assert is_latdeploy_directory(out)
    check_directory_output(out, [SHIPPED_MODEL])
    (out / "thesis.tex").write_text("x")  # the user's file inside the bundle: no longer only latdeploy's
    assert not is_latdeploy_directory(out)
    with pytest.raises(OutputPathError, match="did not write"):
        check_directory_output(out, [SHIPPED_MODEL])
    (out / "thesis.tex").unlink()
    (out / "manifest.json").write_text("[1, 2]")  # a manifest that is not an object
    with pytest.raises(OutputPathError, match="did not write"):
        check_directory_output(out, [SHIPPED_MODEL])
    empty = tmp_path / "empty"
    empty.mkdir()
    check_directory_output(empty, [SHIPPED_MODEL])


def test_temporaries_of_a_dead_writer_are_removed_by_the_next_write(tmp_path):
    stale = tmp_path / ".b.latdeploy.999999999.abcd1234.tmp"  # no process has this id
    stale.mkdir()
    (stale / "graph.onnx").write_text("half")
    alive = tmp_path / f".b.latdeploy.{1}.abcd1234.tmp"  # pid 1 is alive: kept
    alive.mkdir()
    user = tmp_path / ".b.latdeploy.notes"
    user.write_text("mine")
    manifest = {"latdeploy": "0.1.0", "files": []}
    write_bundle(tmp_path / "b.latdeploy", {"manifest.json": lambda p: p.write_text(dump_json(manifest))})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["b.latdeploy", alive.name, user.name])
