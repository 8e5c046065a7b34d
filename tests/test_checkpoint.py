from __future__ import annotations

import pickle

import pytest
import torch

import latdeploy
from latdeploy.errors import ModelFormatError
from latdeploy.nn import build_model

METADATA = {"input_shape": [64], "timesteps": 4, "encoder": "latency", "dataset": "sklearn-digits", "classes": 10}


def _model():
    torch.manual_seed(0)
    return build_model({"arch": "mlp", "sizes": [64, 16, 10], "timesteps": 4})


def test_save_load_round_trip_gives_identical_outputs(tmp_path):
    model = _model()
    path = latdeploy.save(model, tmp_path / "m.pt", METADATA)
    loaded, metadata = latdeploy.load(path)
    x = torch.rand(5, 64)
    with torch.no_grad():
        expected, v_expected = model(x)
        got, v_got = loaded(x)
    assert all(torch.equal(a, b) for a, b in zip(expected, got, strict=True)) and torch.equal(v_expected, v_got)
    assert metadata["timesteps"] == 4 and metadata["format_version"] == latdeploy.FORMAT_VERSION
    torch.load(path, weights_only=True)  # the file is weights-only loadable by plain torch


def test_shipped_model_loads_weights_only(shipped_model_path):
    payload = torch.load(shipped_model_path, weights_only=True)
    assert payload["format"] == "latdeploy-model"
    model, metadata = latdeploy.load(shipped_model_path)
    assert metadata["dataset"] == "sklearn-digits" and metadata["float_test_accuracy"] >= 0.95


class Payload:
    """An arbitrary object: a model file must never unpickle it."""

    def __reduce__(self):
        return (print, ("executed",))


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_arbitrary_pickled_object_is_refused_without_running_it(tmp_path, capsys, writer):
    path = tmp_path / "evil.pt"
    payload = {"format": "latdeploy-model", "x": Payload()}
    if writer == "pickle":
        with path.open("wb") as handle:
            pickle.dump(payload, handle)
    else:
        torch.save(payload, path)
    with pytest.raises(ModelFormatError, match="evil.pt: not a loadable latdeploy model file"):
        latdeploy.load(path)
    assert "executed" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"format": "other"}, "not a latdeploy model"),
        ({"format": "latdeploy-model", "format_version": 99}, "version 99"),
        ({"format": "latdeploy-model", "format_version": 1, "config": {}, "state_dict": {}, "metadata": {}}, "lacks"),
    ],
)
def test_malformed_payloads_are_named(tmp_path, payload, message):
    path = tmp_path / "bad.pt"
    torch.save(payload, path)
    with pytest.raises(ModelFormatError, match=message):
        latdeploy.load(path)


def test_missing_file_and_wrong_shapes(tmp_path):
    with pytest.raises(ModelFormatError, match="no such model file"):
        latdeploy.load(tmp_path / "absent.pt")
    path = latdeploy.save(_model(), tmp_path / "m.pt", METADATA)
    payload = torch.load(path, weights_only=True)
    payload["config"]["sizes"] = [64, 17, 10]
    torch.save(payload, path)
    with pytest.raises(ModelFormatError, match="do not fit"):
        latdeploy.load(path)
