from __future__ import annotations

import pytest

from latdeploy.report.bundle import dump_json, write_bundle


def test_bundle_appears_whole_or_not_at_all(tmp_path):
    out = tmp_path / "b.latdeploy"

    def failing(path):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_bundle(out, {"a.json": lambda p: p.write_text("{}"), "b.json": failing})
    assert list(tmp_path.iterdir()) == []
    write_bundle(out, {"a.json": lambda p: p.write_text("1")})
    write_bundle(out, {"c.json": lambda p: p.write_text("2")})
    assert sorted(p.name for p in out.iterdir()) == ["c.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["b.latdeploy"]


def test_json_is_deterministic():
    assert dump_json({"b": 1, "a": [1.5, None]}) == dump_json({"a": [1.5, None], "b": 1})
