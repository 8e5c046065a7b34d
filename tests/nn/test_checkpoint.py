from __future__ import annotations

import pickle
import subprocess
import sys

import pytest
import torch

import latdeploy
from latdeploy.errors import EXIT_USER_ERROR, ModelFormatError
from latdeploy.nn import build_model
from latdeploy.nn.checkpoint import TrustedPickleWarning

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


class CreatesFile:
    """Unpickling this opens (creates) ``path``: proof that code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _write_code_running_checkpoint(path, marker, writer):
    payload = {"format": "latdeploy-model", "format_version": 1, "x": CreatesFile(marker)}
    if writer == "pickle":
        with path.open("wb") as handle:
            pickle.dump(payload, handle)
    else:
        torch.save(payload, path)


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_export_refuses_a_code_running_pickle_with_exit_2_and_never_runs_it(tmp_path, writer):
    path, marker = tmp_path / "evil.pt", tmp_path / "pwned"
    _write_code_running_checkpoint(path, marker, writer)
    result = subprocess.run(
        [sys.executable, "-m", "latdeploy.cli", "export", str(path), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == EXIT_USER_ERROR, result.stderr
    assert not marker.exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "evil.pt: not a loadable latdeploy model file" in lines[0]
    assert "--trust-pickle" in lines[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_trust_pickle_really_unpickles_and_warns(tmp_path):
    path, marker = tmp_path / "evil.pt", tmp_path / "pwned"
    _write_code_running_checkpoint(path, marker, "torch.save")
    with (
        pytest.warns(TrustedPickleWarning, match="evil.pt"),
        pytest.raises(ModelFormatError, match="must all be dicts"),
    ):
        latdeploy.load(path, trust_pickle=True)
    assert marker.exists()  # the crafted file does run code when trusted: the refusal above is meaningful


def test_full_module_pickle_loads_only_with_trust_pickle(tmp_path):
    model = _model()
    model.metadata = dict(METADATA)
    path = tmp_path / "whole.pt"
    torch.save(model, path)
    with pytest.raises(ModelFormatError, match="whole.pt: not a loadable latdeploy model file"):
        latdeploy.load(path)
    with pytest.warns(TrustedPickleWarning):
        loaded, metadata = latdeploy.load(path, trust_pickle=True)
    assert type(loaded) is type(model) and metadata["timesteps"] == 4
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor)
    del model.metadata
    torch.save(model, path)
    with pytest.warns(TrustedPickleWarning), pytest.raises(ModelFormatError, match="needs dict attributes"):
        latdeploy.load(path, trust_pickle=True)


def _saved_payload(tmp_path):
    path = latdeploy.save(_model(), tmp_path / "m.pt", METADATA)
    return path, torch.load(path, weights_only=True)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p["state_dict"].__setitem__("linears.0.weight", torch.full((16, 64), float("nan"))), "NaN"),
        (lambda p: p["state_dict"]["linears.1.weight"].__setitem__((0, 0), float("inf")), "linears.1.weight"),
        (lambda p: p["config"].__setitem__("threshold", -1.0), "threshold must be > 0"),
        (lambda p: p["config"].__setitem__("threshold", 0.0), "threshold must be > 0"),
        (lambda p: p["config"].__setitem__("sizes", [64, 10**9, 10]), "more than the limit"),
        (lambda p: p["config"].__setitem__("timesteps", 10**9), "config field 'timesteps'"),
        (lambda p: p["metadata"].__setitem__("input_shape", [10**6, 10**6]), "metadata field 'input_shape'"),
        (lambda p: p["metadata"].__setitem__("timesteps", "eight"), "metadata field 'timesteps'"),
        (lambda p: p.__setitem__("format_version", 1.0), "version 1.0"),
        (lambda p: p.__setitem__("format_version", True), "version True"),
        (lambda p: p["config"].__setitem__("sizes", 64), "invalid config"),
        (lambda p: p["state_dict"].__setitem__("linears.0.weight", "text"), "not a named tensor"),
        (lambda p: p["state_dict"].pop("linears.0.weight"), "missing"),
    ],
)
def test_malformed_or_absurd_checkpoints_are_refused_naming_file_and_field(tmp_path, mutate, message):
    path, payload = _saved_payload(tmp_path)
    mutate(payload)
    torch.save(payload, path)
    with pytest.raises(ModelFormatError, match=message) as error:
        latdeploy.load(path)
    assert str(error.value).startswith(str(path)) and "\n" not in str(error.value)


def test_absurd_convnet_is_refused_before_allocating(tmp_path):
    config = {
        "arch": "convnet",
        "timesteps": 4,
        "input_shape": [1, 4096, 4096],
        "layers": [{"type": "conv", "channels": 4096, "kernel": 1}, {"type": "neuron"}],
    }
    torch.save(
        {
            "format": "latdeploy-model",
            "format_version": 1,
            "config": config,
            "state_dict": {},
            "metadata": {**METADATA, "input_shape": [1, 4096, 4096]},
        },
        tmp_path / "big.pt",
    )
    with pytest.raises(ModelFormatError, match="layer of 68719476736 neurons"):
        latdeploy.load(tmp_path / "big.pt")


def test_saving_the_same_model_twice_gives_byte_identical_files(tmp_path):
    model = build_model({"arch": "mlp", "sizes": [4, 3], "timesteps": 2})
    metadata = {"input_shape": [4], "timesteps": 2, "encoder": "latency", "dataset": "none", "classes": 3}
    first = latdeploy.save(model, tmp_path / "first.pt", metadata).read_bytes()
    assert latdeploy.save(model, tmp_path / "second.pt", metadata).read_bytes() == first


def _sequential():
    from torch import nn

    from latdeploy.nn import LIF, TTFSNeuron

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(64, 16, bias=False),
        LIF(16, threshold=0.8, reset="subtract", current_decay=0.5),
        nn.Sequential(nn.Linear(16, 10, bias=False), TTFSNeuron(10, bias=False)),
    )


def _run_sequential(sequential, spikes):
    layer_spikes, x, v_pre = [], spikes, spikes
    for module in [*sequential[:2], *sequential[2]]:
        if isinstance(module, torch.nn.Linear):
            x = module(x)
        else:
            x, v_pre = module(x)
            layer_spikes.append(x)
    return layer_spikes, v_pre


def test_a_plain_sequential_of_latdeploys_blocks_saves_loads_and_quantizes(tmp_path):
    from latdeploy.flows.prepare import prepare_integer_graph
    from latdeploy.hw.profile import load_profile
    from latdeploy.nn.encoders import LatencyEncoder

    sequential = _sequential()
    with torch.no_grad():
        sequential[1].bias.add_(0.1)
    path = latdeploy.save(sequential, tmp_path / "seq.pt", METADATA)
    loaded, metadata = latdeploy.load(path)
    assert metadata["config"]["arch"] == "convnet"
    assert [layer["type"] for layer in metadata["config"]["layers"]] == ["linear", "neuron", "linear", "neuron"]
    assert (
        metadata["config"]["layers"][1] | {"kind": "lif", "reset": "subtract", "threshold": 0.8}
        == (metadata["config"]["layers"][1])
    )
    x = torch.rand(5, 64)
    with torch.no_grad():
        expected, v_expected = _run_sequential(sequential, LatencyEncoder(4)(x))
        got, v_got = loaded(x)
    assert all(torch.equal(a, b) for a, b in zip(expected, got, strict=True))
    assert torch.equal(v_expected, v_got)
    spikes = (torch.rand(8, 4, 64) < 0.3).numpy().astype("uint8")
    prepared = prepare_integer_graph(loaded, metadata, load_profile("loihi2"), calibration=spikes)
    assert [node.size for node in prepared.int_graph.neurons()] == [16, 10]


def test_a_sequential_with_a_foreign_layer_is_refused_by_name(tmp_path):
    from torch import nn

    with pytest.raises(ModelFormatError, match=r"^1: ReLU has no convnet config"):
        latdeploy.save(nn.Sequential(nn.Linear(64, 10, bias=False), nn.ReLU()), tmp_path / "x.pt", METADATA)
    with pytest.raises(ModelFormatError, match=r"^0: Linear has a bias"):
        latdeploy.save(nn.Sequential(nn.Linear(64, 10)), tmp_path / "x.pt", METADATA)
    assert not (tmp_path / "x.pt").exists()


def test_loading_the_shipped_models_does_not_import_torch_dynamo(shipped_model_path):
    """The shape check runs real kernels on an empty batch: meta kernels would import torch._dynamo (~2 s)."""
    code = (
        "import sys, glob, latdeploy\n"
        f"for path in sorted(glob.glob({str(shipped_model_path.parent / '*.pt')!r})):\n"
        "    latdeploy.load(path)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert result.stdout.strip() == "False"


def test_a_forward_that_refuses_an_empty_batch_is_judged_on_the_meta_device(tmp_path, monkeypatch):
    model = build_model({"arch": "mlp", "sizes": [4, 3], "timesteps": 2})
    path = latdeploy.save(model, tmp_path / "m.pt", {**METADATA, "input_shape": [4]})
    original = torch.nn.Linear.forward

    def refuse_empty(self, x):
        if x.numel() == 0 and x.device.type == "cpu":
            raise RuntimeError("no empty batches here")
        return original(self, x)

    monkeypatch.setattr(torch.nn.Linear, "forward", refuse_empty)
    loaded, _ = latdeploy.load(path)  # the meta run decides: the model fits
    assert type(loaded) is type(model)


@pytest.mark.parametrize("name", ["mine.pt", "mine.onnx"])
def test_save_never_replaces_an_existing_file_without_force(tmp_path, name):
    from latdeploy.report.output_paths import OutputPathError

    path = tmp_path / name
    path.write_bytes(b"the user's own file")
    with pytest.raises(OutputPathError, match="force"):
        latdeploy.save(_model(), path, METADATA)
    assert path.read_bytes() == b"the user's own file"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing half-written beside it
    latdeploy.save(_model(), path, METADATA, force=True)
    assert path.read_bytes() != b"the user's own file"
