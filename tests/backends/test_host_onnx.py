"""The host part (encoder) as plain ONNX: onnxruntime gives the torch encoder's spikes exactly."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from latdeploy.backends.host_onnx import (
    HostOnnxError,
    check_host_onnx,
    check_standard_onnx,
    host_onnx_bytes,
    run_host_onnx,
)
from latdeploy.data import load_split
from latdeploy.errors import UnsupportedLayerError
from latdeploy.flows.prepare import encode
from latdeploy.nn.checkpoint import load
from tests.conftest import ROOT

MODELS = {
    "digits_mlp": "latency",
    "digits_le_tad_mlp": "learned_latency",
    "dvs_stc_scb_convnet": "stc",
}
SAMPLES = 120


@pytest.fixture(scope="module", params=sorted(MODELS))
def exported(request):
    model, metadata = load(ROOT / "models" / f"{request.param}.pt")
    x = load_split(metadata["dataset"], "test").x[:SAMPLES]
    return request.param, model, x, host_onnx_bytes(model, x[:2])


def test_onnxruntime_gives_the_torch_encoders_spikes_exactly(exported):
    name, model, x, data = exported
    outputs = run_host_onnx(data, x)  # traced on 2 samples, run on SAMPLES: the batch axis is dynamic
    spikes = encode(model, x)
    assert outputs["spikes"].dtype == np.uint8 and outputs["spikes"].shape == spikes.shape
    assert np.array_equal(outputs["spikes"], spikes)
    assert spikes.any() and not spikes.all()
    check_host_onnx(data, x, spikes)
    if MODELS[name] == "learned_latency":
        with torch.no_grad():
            features = model.encoder.features(torch.from_numpy(x)).numpy()
            intensity = model.encoder.intensity(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(outputs["features"], features, rtol=0, atol=1e-5)
        np.testing.assert_allclose(outputs["intensity"], intensity, rtol=0, atol=1e-5)
    else:
        assert set(outputs) == {"spikes"}


def test_graph_has_standard_ops_only_and_passes_the_checker(exported):
    name, model, _, data = exported
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto, full_check=True)
    assert {node.domain for node in proto.graph.node} <= {"", "ai.onnx"}
    assert {opset.domain for opset in proto.opset_import} <= {"", "ai.onnx"}
    assert ("Gemm" in {node.op_type for node in proto.graph.node}) == (MODELS[name] == "learned_latency")
    info = json.loads({p.key: p.value for p in proto.metadata_props}["latdeploy.host"])
    assert info["encoder"] == MODELS[name] and info["timesteps"] == model.config["timesteps"]


def test_a_differing_spike_is_refused(exported):
    _, model, x, data = exported
    spikes = encode(model, x[:4])
    spikes[1, 0, 0] ^= 1
    with pytest.raises(HostOnnxError, match="differ .* in 1 of"):
        check_host_onnx(data, x[:4], spikes)


def test_non_standard_ops_and_unknown_encoders_are_refused(exported):
    _, model, _, data = exported
    proto = onnx.load_from_string(data)
    proto.graph.node[0].domain = "ai.latdeploy"
    with pytest.raises(HostOnnxError):
        check_standard_onnx(proto)

    class Odd(torch.nn.Module):
        encoder = torch.nn.Identity()
        config = {"arch": "mlp"}

    with pytest.raises(UnsupportedLayerError, match="Identity"):
        host_onnx_bytes(Odd(), np.zeros((1, 4), np.float32))
