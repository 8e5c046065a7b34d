"""Training losses on output spike trains."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def first_spike_membrane_cross_entropy(
    spikes: torch.Tensor,
    v_pre: torch.Tensor,
    labels: torch.Tensor,
    threshold: float,
    scale: float = 5.0,
    fire_weight: float = 0.0,
) -> torch.Tensor:
    """Per-step cross-entropy on the output membrane, up to each sample's decision step.

    The first-spike decoder (:func:`latdeploy.nn.first_spike_decision`) picks, at the
    first step ``t*`` where any output neuron fires, the firing neuron with the
    highest membrane potential; since firing neurons are exactly those with
    ``v_pre >= threshold``, that is ``argmax_c v_pre[t*, c]``. This loss therefore
    applies ``cross_entropy(scale * v_pre[t] / threshold, label)`` at every step
    ``t <= t*`` (all steps when nothing fires) and averages: it teaches the correct
    neuron to lead the membrane race at every step until the decision.

    Args:
        spikes: ``[T, B, C]`` output spikes (only used to find ``t*``; no gradient).
        v_pre: ``[T, B, C]`` output membrane potential before reset.
        labels: ``[B]`` class indices.
        threshold: the output neurons' firing threshold.
        scale: logit scale (inverse temperature).
        fire_weight: weight of a hinge term ``relu(1 - max_t v_pre[t, label] / threshold)``
            that makes the correct neuron reach its threshold at some step, so
            that samples are decided by a spike rather than by the fallback.

    Returns:
        The mean loss over the counted (step, sample) pairs (a scalar tensor).
    """
    timesteps, batch, classes = v_pre.shape
    fired = (spikes.detach() > 0).any(dim=2)
    first = torch.where(fired.any(dim=0), fired.float().argmax(dim=0), torch.full((batch,), timesteps - 1))
    counted = (torch.arange(timesteps).unsqueeze(1) <= first.unsqueeze(0)).float()
    logits = scale * v_pre / threshold
    per_step = F.cross_entropy(logits.reshape(-1, classes), labels.repeat(timesteps), reduction="none").reshape(
        timesteps, batch
    )
    loss = (per_step * counted).sum() / counted.sum()
    if fire_weight:
        correct = v_pre.gather(2, labels.view(1, -1, 1).expand(timesteps, batch, 1)).squeeze(2)
        loss = loss + fire_weight * F.relu(1.0 - correct.max(dim=0).values / threshold).mean()
    return loss
