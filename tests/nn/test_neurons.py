from __future__ import annotations

import torch

from latdeploy.nn import LIF, spike_function


def test_fires_on_equality_resets_to_zero_and_may_fire_again():
    neuron = LIF(1, threshold=1.0, bias=False)
    current = torch.tensor([0.5, 0.5, 1.0, 0.25, 2.0]).view(5, 1, 1)
    spikes, v_pre = neuron(current)
    assert spikes.flatten().tolist() == [0.0, 1.0, 1.0, 0.0, 1.0]
    assert v_pre.flatten().tolist() == [0.5, 1.0, 1.0, 0.25, 2.25]


def test_leak_and_bias():
    neuron = LIF(1, threshold=10.0, current_decay=0.5, voltage_decay=0.25, bias=True)
    with torch.no_grad():
        neuron.bias.fill_(1.0)
    _, v_pre = neuron(torch.tensor([2.0, 0.0]).view(2, 1, 1))
    # u: 2, 1 ; v: 2 + 1 = 3, then 3 * 0.75 + 1 + 1 = 4.25
    assert v_pre.flatten().tolist() == [3.0, 4.25]


def test_surrogate_gradient_flows_through_spikes():
    for name in ("fast_sigmoid", "atan"):
        x = torch.tensor([-0.5, 0.0, 0.5], requires_grad=True)
        spike_function(x, name).sum().backward()
        assert spike_function(x.detach(), name).tolist() == [0.0, 1.0, 1.0]
        assert (x.grad > 0).all()
