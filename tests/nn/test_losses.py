from __future__ import annotations

import torch

from latdeploy.nn.losses import (
    decoded_cross_entropy,
    fire_hinge,
    first_spike_margin_loss,
    first_spike_time_loss,
    soft_first_spike_time,
    tad_loss,
    tad_weights,
)
from latdeploy.nn.surrogate import spike_function


def test_tad_weights_are_a_distribution_per_sample_favouring_confident_steps():
    torch.manual_seed(0)
    logits = torch.randn(5, 7, 10)
    logits[3, 0] = torch.tensor([12.0] + [0.0] * 9)  # sample 0 is very confident at step 3
    weights = tad_weights(logits)
    assert weights.shape == (5, 7)
    assert (weights > 0).all()
    assert torch.allclose(weights.sum(dim=0), torch.ones(7))
    assert weights[:, 0].argmax().item() == 3
    assert not weights.requires_grad


def test_tad_loss_is_the_lambda_weighted_step_cross_entropy_and_trains():
    logits = torch.tensor([[[2.0, 0.0]], [[0.0, 0.1]]], requires_grad=True)  # [T=2, B=1, C=2]
    labels = torch.tensor([0])
    weights = tad_weights(logits)
    per_step = torch.nn.functional.cross_entropy(logits[:, 0], labels.repeat(2), reduction="none")
    assert torch.allclose(tad_loss(logits, labels), (weights[:, 0] * per_step).sum())
    tad_loss(logits, labels).backward()
    assert logits.grad[:, 0, 0].lt(0).all()  # raising the correct logit lowers the loss at every step


def test_first_spike_time_is_exact_and_its_loss_rewards_the_correct_neuron_firing_first():
    spikes = torch.zeros(4, 1, 3)
    spikes[1, 0, 0] = 1
    spikes[3, 0, 1] = 1
    spikes[2, 0, 1] = 1
    assert soft_first_spike_time(spikes).tolist() == [[1.0, 2.0, 4.0]]
    right = first_spike_time_loss(spikes, torch.tensor([0]))
    wrong = first_spike_time_loss(spikes, torch.tensor([2]))
    assert right < wrong
    v = torch.tensor([[[0.5, 0.9]], [[0.5, 0.9]]], requires_grad=True)
    first_spike_time_loss(spike_function(v - 1.0), torch.tensor([0])).backward()
    assert v.grad is not None and v.grad.abs().sum() > 0


def test_decoded_cross_entropy_scales_scores():
    scores = torch.tensor([[1.0, 0.0]])
    labels = torch.tensor([0])
    assert decoded_cross_entropy(scores, labels, scale=5.0) < decoded_cross_entropy(scores, labels, scale=1.0)


def test_first_spike_margin_loss_counts_wrong_neurons_only_until_the_correct_one_fires():
    # [T=3, B=1, C=3]; label 0 fires at step 1; class 1 fires at step 2 (after it), class 2 stays low
    v = torch.tensor([[[0.2, 0.7, 0.1]], [[1.2, 0.4, 0.3]], [[0.0, 1.5, 0.2]]], requires_grad=True)
    spikes = (v.detach() >= 1.0).float()
    labels = torch.tensor([0])
    # step 0: class 1 is 0.2 above 1 - margin; step 1: nothing above 0.5; step 2 is not counted
    loss = first_spike_margin_loss(spikes, v, labels, threshold=1.0, margin=0.5, fire_weight=1.0)
    assert torch.isclose(loss, torch.tensor(0.2))
    loss.backward()
    assert v.grad[0, 0, 1] > 0 and v.grad[2].abs().sum() == 0  # push class 1 down at step 0 only
    # a wrong neuron firing first costs more than one firing after the correct neuron
    late = first_spike_margin_loss(spikes, v.detach(), labels, threshold=1.0)
    early = first_spike_margin_loss(spikes, v.detach(), torch.tensor([1]), threshold=1.0)
    assert early > late


def test_first_spike_margin_loss_makes_a_silent_correct_neuron_fire():
    v = torch.tensor([[[0.3, 0.1]], [[0.6, 0.2]]], requires_grad=True)  # nobody fires; label 0
    spikes = (v.detach() >= 1.0).float()
    loss = first_spike_margin_loss(spikes, v, torch.tensor([0]), threshold=1.0, margin=0.5, fire_weight=2.0)
    assert torch.isclose(loss, torch.tensor(2.0 * 0.4))  # wrong neuron never above 0.5: only the fire term
    loss.backward()
    assert v.grad[1, 0, 0] < 0 and v.grad[0, 0, 0] == 0  # raise the correct neuron's peak membrane


def test_fire_margin_keeps_pushing_a_correct_neuron_that_only_just_fires():
    v = torch.tensor([[[0.3, 0.1]], [[1.1, 0.2]]], requires_grad=True)  # label 0 fires at step 1, 0.1 above
    spikes = (v.detach() >= 1.0).float()
    labels = torch.tensor([0])
    assert first_spike_margin_loss(spikes, v, labels, threshold=1.0, margin=0.5) == 0.0
    loss = first_spike_margin_loss(spikes, v, labels, threshold=1.0, margin=0.5, fire_margin=0.5)
    assert torch.isclose(loss, torch.tensor(0.4))  # 1 + 0.5 - 1.1
    loss.backward()
    assert v.grad[1, 0, 0] < 0 and v.grad[0].abs().sum() == 0
    assert torch.equal(fire_hinge(v.detach(), labels, 1.0, fire_margin=0.05), torch.zeros(1))
