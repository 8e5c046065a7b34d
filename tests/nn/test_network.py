from __future__ import annotations

import pytest
import torch

from latdeploy.errors import ModelFormatError
from latdeploy.nn import build_model
from latdeploy.nn.neurons import LIF, MultiThresholdLIF, TTFSNeuron


def _convnet(**overrides):
    config = {
        "arch": "convnet",
        "input_shape": [1, 8, 8],
        "timesteps": 3,
        "neuron": {"kind": "ttfs", "bias": False},
        "layers": [
            {"type": "conv", "channels": 4, "kernel": 3, "padding": 1},
            {"type": "neuron"},
            {"type": "avgpool", "kernel": 2},
            {"type": "flatten"},
            {"type": "linear", "features": 10},
            {"type": "neuron", "kind": "lif"},
        ],
    }
    return {**config, **overrides}


def test_convnet_from_config_runs_time_first_with_shaped_neurons():
    torch.manual_seed(0)
    model = build_model(_convnet())
    kinds = [type(layer) for layer in model.layers]
    assert kinds == [torch.nn.Conv2d, TTFSNeuron, torch.nn.AvgPool2d, torch.nn.Flatten, torch.nn.Linear, LIF]
    assert model.layers[1].shape == (4, 8, 8)
    spikes, v_pre = model(torch.rand(2, 1, 8, 8))
    assert [s.shape for s in spikes] == [(3, 2, 4, 8, 8), (3, 2, 10)] and v_pre.shape == (3, 2, 10)
    assert (spikes[0].sum(dim=0) <= 1).all()  # TTFS: at most one spike per neuron


def test_convnet_steps_are_independent_for_stateless_layers():
    torch.manual_seed(1)
    model = build_model(_convnet(neuron={"kind": "lif", "bias": False}))
    x = torch.rand(3, 1, 8, 8)
    encoded = model.encoder(x)
    conv = model.layers[0]
    _, v_pre = model.layers[1](conv(encoded.flatten(0, 1)).reshape(3, 3, 4, 8, 8))
    expected = torch.cumsum(torch.stack([conv(encoded[t]) for t in range(3)]), dim=0)
    assert torch.allclose(v_pre[0], expected[0])


def test_event_convnet_with_stc_and_graded_neurons():
    config = _convnet(
        input_shape=[2, 16, 16],
        encoder="stc",
        neuron={"kind": "multi_threshold", "levels": 3, "current_decay": 0.5, "bias": False},
    )
    config["layers"][-1] = {"type": "neuron"}
    model = build_model(config)
    spikes, _ = model(torch.randint(0, 3, (2, 12, 2, 16, 16)).to(torch.uint8))
    assert isinstance(model.layers[1], MultiThresholdLIF) and spikes[0].shape == (3, 2, 4, 16, 16)
    assert spikes[0].max() <= 3 and spikes[0].min() >= 0


def test_pooling_kinds_map_to_torch_and_latdeploy_layers():
    from latdeploy.nn.layers import SpikeTimeMaxPool2d, SumPool2d

    for kind, cls in (("sumpool", SumPool2d), ("spikemaxpool", SpikeTimeMaxPool2d), ("avgpool", torch.nn.AvgPool2d)):
        config = _convnet()
        config["layers"][2] = {"type": kind, "kernel": 2}
        model = build_model(config)
        assert isinstance(model.layers[2], cls)
        spikes, _ = model(torch.rand(2, 1, 8, 8))
        assert spikes[-1].shape == (3, 2, 10)


def test_vgg11_has_eight_convs_and_runs_on_32x32x3():
    model = build_model({"arch": "vgg11", "timesteps": 1, "width": 0.0625, "neuron": {"kind": "lif", "bias": False}})
    convs = [layer for layer in model.layers if isinstance(layer, torch.nn.Conv2d)]
    assert len(convs) == 8 and convs[-1].out_channels == 32
    spikes, v_pre = model(torch.rand(2, 3, 32, 32))
    assert v_pre.shape == (1, 2, 10)


def test_learned_latency_mlp_sends_its_features_to_the_chip():
    model = build_model(
        {"arch": "mlp", "sizes": [20, 16, 10], "timesteps": 4, "encoder": "learned_latency", "input_size": 64}
    )
    assert model.encoder(torch.rand(3, 64)).shape == (4, 3, 20)
    assert model(torch.rand(3, 64))[1].shape == (4, 3, 10)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"layers": [{"type": "conv", "channels": 2}]}, "last layer"),
        ({"layers": [{"type": "fancy"}, {"type": "neuron"}]}, "unknown layer type"),
        ({"neuron": {"kind": "izhikevich"}}, "unknown neuron kind"),
        ({"encoder": "rate"}, "unknown encoder"),
    ],
)
def test_bad_configs_raise_model_format_errors(change, message):
    with pytest.raises(ModelFormatError, match=message):
        build_model(_convnet(**change))
