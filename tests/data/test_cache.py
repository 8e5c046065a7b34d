"""The on-disk cache of generated data: same arrays as generating, atomic, validated, never unpickled."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from latdeploy.data import cache
from latdeploy.data.cache import cache_directory, cache_key, cached_arrays
from latdeploy.data.digits import _split, load_digits_split
from latdeploy.data.events import EVENTS, _generate, load_event_split

ARRAYS = {"x": np.arange(24, dtype=np.uint8).reshape(2, 3, 4), "y": np.array([3, -1], np.int64)}


@pytest.fixture
def directory(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_VARIABLE, str(tmp_path / "cache"))
    return tmp_path / "cache"


def _load(calls: list[int], parameters=None, source=None):
    def generate():
        calls.append(1)
        return {name: array.copy() for name, array in ARRAYS.items()}

    return cached_arrays("toy", parameters or {"seed": 0}, source or Path(__file__), ("x", "y"), generate)


def _assert_toy(arrays):
    for name, array in ARRAYS.items():
        assert arrays[name].dtype == array.dtype and np.array_equal(arrays[name], array), name


def test_the_second_load_reads_the_file_and_gives_the_same_arrays(directory):
    calls: list[int] = []
    _assert_toy(_load(calls))
    _assert_toy(_load(calls))
    assert len(calls) == 1 and len(list(directory.glob("toy-*.npz"))) == 1
    assert not list(directory.glob(".*.tmp"))  # written atomically: no temporary left


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2]),  # truncated
        lambda path: path.write_bytes(b"not a zip file"),
        lambda path: np.savez(path, x=ARRAYS["x"] + 1, y=ARRAYS["y"], sha256=np.zeros(32, np.uint8)),  # wrong digest
        lambda path: np.savez(path, x=ARRAYS["x"], y=ARRAYS["y"]),  # no digest
        lambda path: np.savez(path, x=np.array([{"a": 1}], dtype=object), y=ARRAYS["y"], sha256=np.zeros(32, np.uint8)),
    ],
    ids=["truncated", "not-npz", "wrong-digest", "no-digest", "pickled-object"],
)
def test_a_damaged_file_is_regenerated_and_replaced(directory, damage, monkeypatch):
    calls: list[int] = []
    _load(calls)
    (path,) = directory.glob("toy-*.npz")
    damage(path)
    for name in ("load", "loads"):
        monkeypatch.setattr(pickle, name, lambda *_, **__: pytest.fail("the cache unpickled"))
    _assert_toy(_load(calls))
    assert len(calls) == 2
    _assert_toy(_load(calls))
    assert len(calls) == 2  # the replaced file is good again


def test_the_key_follows_parameters_and_source(directory, tmp_path):
    source = tmp_path / "generator.py"
    source.write_text("A = 1\n")
    first = cache_key({"seed": 0}, source)
    assert cache_key({"seed": 1}, source) != first
    source.write_text("A = 2\n")
    assert cache_key({"seed": 0}, source) != first
    calls: list[int] = []
    _load(calls, source=source)
    source.write_text("A = 3\n")
    _load(calls, source=source)
    assert len(calls) == 2


def test_an_unwritable_cache_still_gives_the_data(directory):
    directory.write_text("a file where the cache directory would be")  # mkdir fails, as on a read-only disk
    calls: list[int] = []
    _assert_toy(_load(calls))
    _assert_toy(_load(calls))
    assert len(calls) == 2 and directory.read_text().startswith("a file")


def test_an_empty_cache_variable_turns_the_cache_off(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_VARIABLE, "")
    assert cache_directory() is None
    calls: list[int] = []
    _load(calls)
    _load(calls)
    assert len(calls) == 2
    monkeypatch.delenv(cache.CACHE_VARIABLE)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_directory() == tmp_path / "latdeploy"


def test_the_cached_event_split_equals_the_generated_one(directory):
    generated = _generate("test", 0)
    first, second = load_event_split("test"), load_event_split("test")
    assert len(list(directory.glob(f"{EVENTS}-*.npz"))) == 1
    for split in (first, second):
        assert split.x.dtype == generated["x"].dtype and np.array_equal(split.x, generated["x"])
        assert split.y.dtype == generated["y"].dtype and np.array_equal(split.y, generated["y"])


def test_the_cached_digits_split_equals_scikit_learns_and_a_hit_does_not_import_it(directory):
    for split in ("train", "test"):
        made = _split(split)
        for loaded in (load_digits_split(split), load_digits_split(split)):
            assert loaded.x.dtype == np.float32 and np.array_equal(loaded.x, made["x"])
            assert loaded.y.dtype == np.int64 and np.array_equal(loaded.y, made["y"])
    code = "import sys; from latdeploy.data import load_split; load_split('sklearn-digits', 'test')\n"
    code += "print('sklearn' in sys.modules)"
    environment = {**os.environ, cache.CACHE_VARIABLE: str(directory)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300)
    assert result.stdout.strip() == "False", result.stderr
