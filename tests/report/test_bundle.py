from __future__ import annotations

import pytest

from latdeploy.errors import OutputPathError
from latdeploy.report.bundle import dump_json, write_bundle


def _manifest(*files: str):
    """A writer of a bundle manifest naming ``files`` (what marks a directory as latdeploy's)."""
    return lambda path: path.write_text(dump_json({"latdeploy": "test", "files": list(files)}))


def test_bundle_appears_whole_or_not_at_all(tmp_path):
    out = tmp_path / "b.latdeploy"

    def failing(path):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_bundle(out, {"a.json": lambda p: p.write_text("{}"), "b.json": failing})
    assert list(tmp_path.iterdir()) == []
    write_bundle(out, {"manifest.json": _manifest("a.json"), "a.json": lambda p: p.write_text("1")})
    write_bundle(out, {"manifest.json": _manifest("c.json"), "c.json": lambda p: p.write_text("2")})
    assert sorted(p.name for p in out.iterdir()) == ["c.json", "manifest.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["b.latdeploy"]


def test_a_directory_of_other_files_is_never_replaced(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("x")
    with pytest.raises(OutputPathError, match="holds files latdeploy did not write"):
        write_bundle(out, {"a.json": lambda p: p.write_text("1")})
    assert [p.name for p in out.iterdir()] == ["thesis.tex"] and (out / "thesis.tex").read_text() == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]


def test_json_is_deterministic():
    assert dump_json({"b": 1, "a": [1.5, None]}) == dump_json({"a": [1.5, None], "b": 1})
