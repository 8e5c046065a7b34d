from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.nn import LIF, SURROGATES, spike_function
from latdeploy.nn.neurons import MultiThresholdLIF, TTFSNeuron


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
    for name in SURROGATES:
        x = torch.tensor([-0.1, 0.0, 0.1], requires_grad=True)
        spike_function(x, name).sum().backward()
        assert spike_function(x.detach(), name).tolist() == [0.0, 1.0, 1.0]
        assert (x.grad > 0).all()


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    steps=st.integers(1, 12),
    current_decay=st.sampled_from([1.0, 0.5, 0.125]),
    voltage_decay=st.sampled_from([0.0, 0.25]),
)
def test_ttfs_neuron_never_fires_twice(seed, steps, current_decay, voltage_decay):
    generator = torch.Generator().manual_seed(seed)
    neuron = TTFSNeuron(7, threshold=0.5, current_decay=current_decay, voltage_decay=voltage_decay)
    current = torch.rand(steps, 3, 7, generator=generator) * 2.0
    spikes, v_pre = neuron(current)
    assert spikes.sum(dim=0).max() <= 1
    fired_before = (spikes.cumsum(dim=0) - spikes) > 0
    assert (v_pre[fired_before] == 0).all()
    reference, _ = LIF(7, threshold=0.5, current_decay=current_decay, voltage_decay=voltage_decay)(current)
    first = reference.argmax(dim=0)  # the TTFS spike is the LIF's first spike
    assert torch.equal(spikes.argmax(dim=0)[spikes.sum(0) > 0], first[reference.sum(0) > 0])


def test_ttfs_constant_drive_fires_once_where_lif_fires_repeatedly():
    current = torch.full((6, 1, 1), 1.0)
    lif_spikes, _ = LIF(1, threshold=1.0, bias=False)(current)
    ttfs_spikes, _ = TTFSNeuron(1, threshold=1.0, bias=False)(current)
    assert lif_spikes.flatten().tolist() == [1.0] * 6
    assert ttfs_spikes.flatten().tolist() == [1.0, 0, 0, 0, 0, 0]


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    levels=st.integers(1, 6),
    reset=st.sampled_from(["zero", "subtract"]),
)
def test_multi_threshold_levels_stay_in_range(seed, levels, reset):
    generator = torch.Generator().manual_seed(seed)
    neuron = MultiThresholdLIF(5, levels=levels, threshold=0.5, reset=reset, bias=False)
    current = (torch.rand(8, 2, 5, generator=generator) - 0.2) * 6.0
    spikes, v_pre = neuron(current)
    assert torch.equal(spikes, spikes.round())
    assert spikes.min() >= 0 and spikes.max() <= levels
    expected = torch.clamp(torch.floor(v_pre / 0.5), 0, levels)
    assert torch.equal(spikes, expected)


def test_multi_threshold_graded_output_and_resets():
    current = torch.tensor([1.2, 0.0, 3.5]).view(3, 1, 1)
    zero, v_zero = MultiThresholdLIF(1, levels=3, threshold=0.5, bias=False)(current)
    assert zero.flatten().tolist() == [2.0, 0.0, 3.0]
    assert v_zero.flatten().tolist() == pytest.approx([1.2, 0.0, 3.5])
    soft, v_soft = MultiThresholdLIF(1, levels=3, threshold=0.5, bias=False, reset="subtract")(current)
    # 1.2 -> 2 levels, remainder 0.2; 0.2 -> 0; 0.2 + 3.5 = 3.7 -> capped at 3, remainder 2.2
    assert soft.flatten().tolist() == [2.0, 0.0, 3.0]
    assert v_soft.flatten().tolist() == pytest.approx([1.2, 0.2, 3.7])


def test_soft_reset_keeps_the_remainder():
    current = torch.tensor([1.5, 0.25, 0.5, 0.0]).view(4, 1, 1)
    spikes, v_pre = LIF(1, threshold=1.0, bias=False, reset="subtract")(current)
    assert spikes.flatten().tolist() == [1.0, 0.0, 1.0, 0.0]
    assert v_pre.flatten().tolist() == [1.5, 0.75, 1.25, 0.25]
    hard, _ = LIF(1, threshold=1.0, bias=False, reset="zero")(current)
    assert hard.flatten().tolist() == [1.0, 0.0, 0.0, 0.0]


def test_cuba_current_decay_keeps_memory_of_input():
    neuron = LIF(1, threshold=100.0, current_decay=0.25, bias=False)
    _, v_pre = neuron(torch.tensor([4.0, 0.0, 0.0]).view(3, 1, 1))
    # u: 4, 3, 2.25 ; v accumulates u (no voltage leak)
    assert v_pre.flatten().tolist() == [4.0, 7.0, 9.25]


@pytest.mark.parametrize("surrogate", sorted(SURROGATES))
@pytest.mark.parametrize(
    "make",
    [
        lambda s: LIF((2, 3, 3), threshold=0.5, surrogate=s),
        lambda s: LIF((2, 3, 3), threshold=0.5, surrogate=s, reset="subtract", current_decay=0.5),
        lambda s: TTFSNeuron((2, 3, 3), threshold=0.5, surrogate=s, voltage_decay=0.1),
        lambda s: MultiThresholdLIF((2, 3, 3), levels=3, threshold=0.5, surrogate=s),
    ],
)
def test_gradients_flow_through_every_neuron_and_surrogate(make, surrogate):
    neuron = make(surrogate)
    current = (torch.rand(4, 2, 2, 3, 3, generator=torch.Generator().manual_seed(0)) * 1.2).requires_grad_()
    spikes, _ = neuron(current)
    assert spikes.shape == (4, 2, 2, 3, 3)
    spikes.sum().backward()
    assert current.grad is not None and current.grad.abs().sum() > 0
    assert neuron.bias.grad is not None and neuron.bias.grad.abs().sum() > 0


def test_shaped_layer_matches_flat_layer():
    current = torch.rand(5, 2, 2, 3, 4, generator=torch.Generator().manual_seed(1))
    shaped = MultiThresholdLIF((2, 3, 4), levels=2, threshold=0.3, current_decay=0.5)
    flat = MultiThresholdLIF(24, levels=2, threshold=0.3, current_decay=0.5)
    with torch.no_grad():
        shaped.bias.copy_(torch.linspace(-0.1, 0.1, 24).view(2, 3, 4))
        flat.bias.copy_(torch.linspace(-0.1, 0.1, 24))
    spikes, v_pre = shaped(current)
    flat_spikes, flat_v = flat(current.reshape(5, 2, 24))
    assert shaped.size == 24 and shaped.shape == (2, 3, 4)
    assert torch.equal(spikes.reshape(5, 2, 24), flat_spikes) and torch.equal(v_pre.reshape(5, 2, 24), flat_v)


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="reset"):
        LIF(3, reset="hard")
    with pytest.raises(ValueError, match="levels"):
        MultiThresholdLIF(3, levels=0)
    with pytest.raises(ValueError, match="surrogate"):
        TTFSNeuron(3, surrogate="nope")
    with pytest.raises(ValueError, match="expected input"):
        LIF((2, 2))(torch.zeros(3, 1, 4))
