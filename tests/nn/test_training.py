from __future__ import annotations

import numpy as np
import torch

from latdeploy.data import DIGITS, load_split
from latdeploy.nn import build_model, first_spike_decision
from latdeploy.nn.fake_quant import FakeQuantizedWeights, layer_scale
from latdeploy.nn.losses import first_spike_membrane_cross_entropy


def _accuracy(model, x, y):
    with torch.no_grad():
        spikes, v_pre = model(torch.from_numpy(x))
    decision = first_spike_decision(spikes[-1].permute(1, 0, 2).numpy(), v_pre.permute(1, 0, 2).numpy())
    return float((decision.label == y).mean())


def _config():
    return {"arch": "mlp", "sizes": [64, 32, 10], "timesteps": 6, "threshold": 1.0, "bias": True}


def test_short_training_run_improves_accuracy():
    torch.manual_seed(0)
    train = load_split(DIGITS, "train")
    x, y = train.x[:400], train.y[:400]
    model = build_model(_config())
    before = _accuracy(model, x, y)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(15):
        for start in range(0, 400, 50):
            spikes, v_pre = model(torch.from_numpy(x[start : start + 50]))
            loss = first_spike_membrane_cross_entropy(spikes[-1], v_pre, torch.from_numpy(y[start : start + 50]), 1.0)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    after = _accuracy(model, x, y)
    assert after > before + 0.3


def test_fake_quantization_leaves_weights_on_the_integer_grid():
    torch.manual_seed(1)
    model = build_model(_config())
    with FakeQuantizedWeights(model):
        spikes, v_pre = model(torch.rand(4, 64))
        loss = v_pre.sum()
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        assert grads and all(g.abs().sum() > 0 for g in grads)
    for linear, neuron in zip(model.linears, model.neurons, strict=True):
        scale, step, _, _ = layer_scale(linear.weight)
        units = linear.weight.detach().double().numpy() * scale / step
        assert np.allclose(units, np.round(units), atol=1e-3)
        bias_units = neuron.bias.detach().double().numpy() * scale
        assert np.allclose(bias_units, np.round(bias_units), atol=1e-3)
