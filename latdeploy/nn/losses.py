"""Training losses on output spike trains (all inputs time-first: ``[T, B, C]``).

- :func:`first_spike_membrane_cross_entropy`: per-step membrane cross-entropy up to the decision.
- :func:`first_spike_margin_loss`: membrane hinge: the correct neuron fires first, with a margin.
- :func:`tad_loss`: temporal adaptive decision loss (per-step cross-entropy weighted by Lambda[t]).
- :func:`first_spike_time_loss`: cross-entropy on negative, differentiable first-spike times.
- :func:`decoded_cross_entropy`: plain cross-entropy on a decoder's scores.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from latdeploy.nn.decoders import aggregate_scores

LOSSES = ("membrane_ce", "tad", "first_spike_time", "decoded_ce", "first_spike_margin")
"""Names of the training losses :func:`training_loss` dispatches (``tools/train.py --loss``)."""


def fire_hinge(v_pre: torch.Tensor, labels: torch.Tensor, threshold: float, fire_margin: float = 0.0) -> torch.Tensor:
    """Return ``relu(1 + fire_margin - max_t v_pre[t, label] / threshold)`` per sample ``[B]``.

    Zero once the correct output neuron reaches ``1 + fire_margin`` thresholds at some step; used
    to make samples be decided by a spike rather than by the decoder's membrane fallback (a
    ``fire_margin`` > 0 keeps it firing on inputs a little weaker than the training samples).
    """
    timesteps, batch, _ = v_pre.shape
    correct = v_pre.gather(2, labels.view(1, -1, 1).expand(timesteps, batch, 1)).squeeze(2)
    return F.relu(1.0 + fire_margin - correct.max(dim=0).values / threshold)


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
        loss = loss + fire_weight * fire_hinge(v_pre, labels, threshold).mean()
    return loss


def first_spike_margin_loss(
    spikes: torch.Tensor,
    v_pre: torch.Tensor,
    labels: torch.Tensor,
    threshold: float,
    margin: float = 0.5,
    fire_weight: float = 1.0,
    fire_margin: float = 0.0,
) -> torch.Tensor:
    """Membrane hinge loss that makes the correct output neuron fire first, with a margin.

    A first-spike (or, for single-spike outputs, temporal) decision is right when the
    correct neuron fires and no other neuron reaches the threshold before or at its
    step. With ``t_c`` the correct neuron's first spike step (``T - 1`` when it does
    not fire; no gradient through ``t_c``), per sample::

        wrong = sum_{t <= t_c} sum_{c != label} relu(v_pre[t, c] / threshold - (1 - margin))
        fire  = relu(1 + fire_margin - max_t v_pre[t, label] / threshold)
        loss  = wrong + fire_weight * fire

    The other neurons are held ``margin`` thresholds below firing until the correct
    one fires; what they do afterwards is free. Unlike
    :func:`first_spike_membrane_cross_entropy` nothing rewards an early decision, so
    the output waits for the evidence that later input spikes bring.

    Args:
        spikes: ``[T, B, C]`` output spikes (only used to find ``t_c``; no gradient).
        v_pre: ``[T, B, C]`` output membrane potential before reset.
        labels: ``[B]`` class indices.
        threshold: the output neurons' firing threshold.
        margin: distance below the threshold (in thresholds) the wrong neurons keep.
        fire_weight: weight of the term that makes the correct neuron reach its threshold.
        fire_margin: how far above the threshold (in thresholds) the correct neuron is pushed.

    Returns:
        The mean loss over the batch (a scalar tensor).
    """
    timesteps, batch, _ = v_pre.shape
    index = labels.view(1, -1, 1).expand(timesteps, batch, 1)
    correct_fired = spikes.detach().gather(2, index).squeeze(2) > 0
    first = torch.where(
        correct_fired.any(dim=0), correct_fired.float().argmax(dim=0), torch.full((batch,), timesteps - 1)
    )
    counted = (torch.arange(timesteps).unsqueeze(1) <= first.unsqueeze(0)).to(v_pre.dtype)
    wrong = torch.ones_like(v_pre).scatter_(2, index, 0.0) * counted.unsqueeze(2)
    over = F.relu(v_pre / threshold - (1.0 - margin)) * wrong
    return (over.sum(dim=(0, 2)) + fire_weight * fire_hinge(v_pre, labels, threshold, fire_margin)).mean()


def tad_weights(logits: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Return the TAD confidence distribution ``Lambda`` ``[T, B]`` of per-step logits ``[T, B, C]``.

    ``H[t] = entropy(softmax(logits[t]))`` per sample; ``Lambda[t] = (1 / H[t]) / sum_k (1 / H[k])``
    (``H`` floored at ``eps``). Each sample's weights are positive and sum to 1 over
    time; confident (low-entropy) steps weigh more. No gradient flows through them.
    """
    with torch.no_grad():
        log_p = F.log_softmax(logits, dim=-1)
        entropy = (-(log_p.exp() * log_p).sum(dim=-1)).clamp(min=eps)
        inverse = 1.0 / entropy
        return inverse / inverse.sum(dim=0, keepdim=True)


def tad_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Temporal adaptive decision loss: ``mean_b sum_t Lambda[t, b] * CE(logits[t, b], label[b])``.

    ``Lambda`` is :func:`tad_weights`: a per-sample distribution over steps from each
    step's inverse entropy, so a sample that is already confident early is pushed to
    be right early.

    Args:
        logits: ``[T, B, C]`` per-step outputs (e.g. output membrane over threshold, scaled).
        labels: ``[B]`` class indices.

    Returns:
        The scalar loss.
    """
    timesteps, batch, classes = logits.shape
    per_step = F.cross_entropy(logits.reshape(-1, classes), labels.repeat(timesteps), reduction="none").reshape(
        timesteps, batch
    )
    return (tad_weights(logits) * per_step).sum(dim=0).mean()


def soft_first_spike_time(spikes: torch.Tensor) -> torch.Tensor:
    """Return ``[B, C]`` first-spike steps of ``[T, B, C]`` spikes (``T`` = never), differentiably.

    ``time = sum_t prod_{k<=t} (1 - s[k])``: exactly the 0-based step of the first
    spike for 0/1 spikes (graded payloads are clipped to 1); gradients reach every
    spike up to the first one through the surrogate.
    """
    silent = torch.cumprod(1.0 - spikes.clamp(max=1.0), dim=0)
    return silent.sum(dim=0)


def first_spike_time_loss(spikes: torch.Tensor, labels: torch.Tensor, scale: float = 4.0) -> torch.Tensor:
    """Cross-entropy on ``-scale * time / T`` (:func:`soft_first_spike_time`): the correct
    output neuron is pushed to fire first, the others later.

    Returns:
        The scalar loss (mean over the batch).
    """
    times = soft_first_spike_time(spikes)
    return F.cross_entropy(-scale * times / spikes.shape[0], labels)


def decoded_cross_entropy(scores: torch.Tensor, labels: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Plain cross-entropy on a decoder's scores ``[B, C]`` (e.g. :func:`~latdeploy.nn.decoders.aggregate_scores`)
    multiplied by ``scale``; returns the scalar mean loss."""
    return F.cross_entropy(scale * scores, labels)


def training_loss(
    name: str,
    spikes: torch.Tensor,
    v_pre: torch.Tensor,
    labels: torch.Tensor,
    threshold: float,
    *,
    logit_scale: float,
    fire_weight: float,
    margin: float,
    decoder: str,
    fire_margin: float = 0.0,
) -> torch.Tensor:
    """Return the training loss ``name`` (one of :data:`LOSSES`) for output ``spikes`` / ``v_pre`` ``[T, B, C]``.

    ``membrane_ce`` and ``first_spike_margin`` carry their own fire term; the other losses get
    ``fire_weight * mean(fire_hinge)`` added when ``fire_weight`` is non-zero. ``logit_scale``
    scales the logits of ``tad``, ``first_spike_time`` and ``decoded_ce``; ``decoder`` names the
    score aggregation of ``decoded_ce``; ``fire_margin`` is the fire term's margin above the threshold
    (``first_spike_margin`` only).

    Raises:
        ValueError: ``name`` is not in :data:`LOSSES`.
    """
    if name == "membrane_ce":
        return first_spike_membrane_cross_entropy(spikes, v_pre, labels, threshold=threshold, fire_weight=fire_weight)
    if name == "first_spike_margin":
        return first_spike_margin_loss(
            spikes, v_pre, labels, threshold=threshold, margin=margin, fire_weight=fire_weight, fire_margin=fire_margin
        )
    if name == "tad":
        loss = tad_loss(logit_scale * v_pre / threshold, labels)
    elif name == "first_spike_time":
        loss = first_spike_time_loss(spikes, labels, scale=logit_scale)
    elif name == "decoded_ce":
        loss = decoded_cross_entropy(aggregate_scores(spikes, decoder), labels, scale=logit_scale)
    else:
        raise ValueError(f"unknown loss {name!r}; choose one of {list(LOSSES)}")
    if fire_weight:
        loss = loss + fire_weight * fire_hinge(v_pre, labels, threshold).mean()
    return loss
