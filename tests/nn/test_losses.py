from __future__ import annotations

import torch

from latdeploy.nn.losses import (
    decoded_cross_entropy,
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
