"""Users' data: .npz files, shard directories and entry points, checked against the model before anything runs."""

from __future__ import annotations

import hashlib
import json
import sys
import types

import numpy as np
import pytest
import torch

from latdeploy.data.source import model_data
from latdeploy.data.user import read_user_data
from latdeploy.errors import InputFormatError
from latdeploy.flows.prepare import encode, spikes_of
from latdeploy.flows.verify import recorded_data
from latdeploy.nn import build_model

METADATA = {"input_shape": [12], "timesteps": 4, "encoder": "latency", "dataset": "mine", "classes": 3}


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_model({"arch": "mlp", "sizes": [12, 8, 3], "timesteps": 4})


def arrays(samples: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (samples, 12)).astype(np.float32), rng.integers(0, 3, samples)


def test_npz_data_is_evaluated_and_its_first_part_calibrates(model, tmp_path):
    x, y = arrays()
    np.savez(tmp_path / "d.npz", x=x, y=y)
    chosen = model_data(model, METADATA, tmp_path / "d.npz")
    assert np.array_equal(chosen.test.x, x) and np.array_equal(chosen.test.y, y)
    assert np.array_equal(chosen.calibration.x, x)
    assert chosen.record["test"]["sha256"] == _sha256(tmp_path / "d.npz")
    assert chosen.record["test"]["inputs"] == "analog"
    assert chosen.record["calibration"] == {"from": "data", "samples": 10}
    json.dumps(chosen.record)


def test_shards_join_in_name_order_with_one_hash_each(model, tmp_path):
    x, y = arrays(12)
    (tmp_path / "shards").mkdir()
    for index, start in enumerate(range(0, 12, 4)):
        np.savez(tmp_path / "shards" / f"part{index}.npz", x=x[start : start + 4], y=y[start : start + 4])
    chosen = model_data(model, METADATA, tmp_path / "shards")
    assert np.array_equal(chosen.test.x, x)
    assert chosen.record["test"]["kind"] == "shards"
    assert chosen.record["test"]["sha256"] == [_sha256(p) for p in sorted((tmp_path / "shards").glob("*.npz"))]
    with pytest.raises(InputFormatError, match="more than the limit of 100"):
        read_user_data(tmp_path / "shards", memory_limit=100)


def test_an_entry_point_returns_arrays_or_a_dataset(model, monkeypatch):
    x, y = arrays()
    module = types.ModuleType("my_loaders")
    module.arrays = lambda: (x, y)
    module.dataset = lambda: torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    monkeypatch.setitem(sys.modules, "my_loaders", module)
    for name in ("arrays", "dataset"):
        chosen = model_data(model, METADATA, f"my_loaders:{name}")
        assert np.allclose(chosen.test.x, x) and np.array_equal(chosen.test.y, y)
        assert chosen.record["test"]["kind"] == "entry_point" and "sha256" not in chosen.record["test"]


def test_encoded_spikes_are_told_apart_by_shape_and_used_as_they_are(model, tmp_path):
    x, y = arrays()
    spikes = encode(model, x)
    np.savez(tmp_path / "s.npz", x=spikes, y=y)
    chosen = model_data(model, METADATA, tmp_path / "s.npz")
    assert chosen.test.encoded and chosen.record["test"]["inputs"] == "encoded"
    assert np.array_equal(spikes_of(model, chosen.test, 5), spikes[:5])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"x": np.zeros((4, 13), np.float32)}, r"field 'x' has shape \[4, 13\]; expected \[N, 12\] inputs"),
        ({"x": np.full((4, 12), 2.0, np.float32)}, r"field 'x' holds values in \[2, 2\]; the 'latency' encoder"),
        ({"x": np.full((4, 12), np.nan, np.float32)}, "field 'x' holds NaN"),
        ({"x": np.zeros((4, 4, 12), np.float32)}, "field 'x' holds float32 spikes; expected uint8 or bool"),
        ({"x": np.zeros((4, 12), np.float32)}, "field 'y' missing"),
        ({"x": np.zeros((4, 12), np.float32), "y": np.array([0, 1, 2, 3])}, r"labels in \[0, 3\]; expected \[0, 2\]"),
        ({"x": np.zeros((4, 12), np.float32), "y": np.zeros(3, np.int64)}, r"field 'y' has shape \[3\]"),
        ({"x": np.zeros((4, 12), np.float32), "y": np.zeros(4)}, "field 'y' holds float64 values"),
        ({"inputs": np.zeros((4, 12))}, r"field 'x' missing \(the file holds \['inputs'\]\)"),
    ],
)
def test_data_that_does_not_fit_the_model_is_named_by_file_and_field(model, tmp_path, fields, message):
    np.savez(tmp_path / "bad.npz", **fields)
    with pytest.raises(InputFormatError, match=message) as error:
        model_data(model, METADATA, tmp_path / "bad.npz")
    assert str(error.value).startswith(str(tmp_path / "bad.npz")) and "\n" not in str(error.value)


def test_a_bundle_never_runs_an_entry_point_it_names(tmp_path):
    manifest = {"data": {"test": {"source": "os:getcwd", "kind": "entry_point", "samples": 3}}}
    with pytest.raises(InputFormatError, match="entry point, which is never run from a file; pass --data"):
        recorded_data(tmp_path, manifest)


def test_a_bundle_refuses_data_whose_hash_changed(tmp_path):
    x, y = arrays()
    np.savez(tmp_path / "d.npz", x=x, y=y)
    manifest = {"data": {"test": {"source": str(tmp_path / "d.npz"), "kind": "npz", "sha256": "0" * 64}}}
    with pytest.raises(InputFormatError, match="does not match the recorded sha256; pass --data"):
        recorded_data(tmp_path, manifest)
    manifest["data"]["test"]["sha256"] = _sha256(tmp_path / "d.npz")
    assert recorded_data(tmp_path, manifest) == tmp_path / "d.npz"
