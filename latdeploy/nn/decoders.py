"""Output decoders: from output spike trains to a class decision and its latency.

Three decoders, each with a differentiable score (torch, for training) where one
exists and a decision function (numpy, for evaluation and hardware traces):

- ``first_spike``: the class whose neuron fires first; ties by the higher membrane.
- ``temporal``: spikes aggregated over time with weights that favour early spikes,
  ``w[t] = (T - t) / T``.
- ``mean``: spikes averaged over time (every step weighs the same), for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

DECODERS = ("first_spike", "temporal", "mean")


@dataclass(frozen=True)
class FirstSpikeDecision:
    """Decisions of a batch: ``label[b]``, ``step[b]`` (the step the decision is made,
    or ``timesteps`` when no output neuron fired) and ``decided[b]``."""

    label: np.ndarray
    step: np.ndarray
    decided: np.ndarray


Decision = FirstSpikeDecision


def first_spike_decision(spikes: np.ndarray, v_pre: np.ndarray) -> FirstSpikeDecision:
    """Decide each sample by the output neuron that fires first.

    Args:
        spikes: ``[B, T, C]`` output spikes (non-zero = spike; graded payloads count as spikes).
        v_pre: ``[B, T, C]`` membrane potential before reset (float or integer).

    Returns:
        The decision per sample: the earliest-firing class; ties at that step are
        broken by the higher membrane potential, then by the lower class index.
        A sample with no output spike takes the class with the highest final
        membrane potential and counts as undecided (step = T).
    """
    spikes = np.asarray(spikes) > 0
    v_pre = np.asarray(v_pre)
    batch, timesteps, _ = spikes.shape
    fired_any = spikes.any(axis=2)
    decided = fired_any.any(axis=1)
    step = np.where(decided, fired_any.argmax(axis=1), timesteps)
    at_step = np.minimum(step, timesteps - 1)
    rows = np.arange(batch)
    potential = v_pre[rows, at_step].astype(np.float64)
    candidates = np.where(decided[:, None], spikes[rows, at_step], True)
    label = np.where(candidates, potential, -np.inf).argmax(axis=1)
    return FirstSpikeDecision(label=label, step=step, decided=decided)


def time_weights(timesteps: int, decoder: str) -> np.ndarray:
    """Return the per-step weights ``[T]`` of an aggregating decoder.

    ``temporal``: ``(T - t) / T`` (1 at step 0, falling linearly: earlier spikes
    count more); ``mean``: ``1 / T`` for every step.

    Raises:
        ValueError: for a decoder that does not aggregate over time.
    """
    if decoder == "temporal":
        return (timesteps - np.arange(timesteps, dtype=np.float64)) / timesteps
    if decoder == "mean":
        return np.full(timesteps, 1.0 / timesteps)
    raise ValueError(f"decoder {decoder!r} does not aggregate over time; use 'temporal' or 'mean'")


def aggregate_scores(spikes: torch.Tensor, decoder: str) -> torch.Tensor:
    """Return ``[B, C]`` scores ``sum_t w[t] * spikes[t]`` of time-first ``spikes`` ``[T, B, C]``.

    Differentiable (surrogate gradients of the spikes pass through); graded spikes
    count with their payload. Raises ``ValueError`` as :func:`time_weights` does.
    """
    weights = torch.as_tensor(time_weights(spikes.shape[0], decoder), dtype=spikes.dtype, device=spikes.device)
    return torch.einsum("t,tbc->bc", weights, spikes)


def aggregate_decision(spikes: np.ndarray, v_pre: np.ndarray, decoder: str) -> FirstSpikeDecision:
    """Decide each sample by time-weighted spike counts (``temporal`` or ``mean`` decoder).

    The running score of class ``c`` after step ``t`` is ``S[t, c] = sum_{k<=t} w[k] s[k, c]``
    (:func:`time_weights`). The leader at step ``t`` is the class with the highest
    ``S[t]``; ties go to the higher membrane-at-spike sum ``sum_{k<=t} w[k] s[k, c] v_pre[k, c]``,
    then to the lower index. The label is the leader after the last step; the decision
    step is the first step from which the leader never changes again and has a spike. A sample without
    any output spike takes the class with the highest final membrane potential and
    counts as undecided (step = T).

    Args:
        spikes: ``[B, T, C]`` output spikes (graded payloads count with their value).
        v_pre: ``[B, T, C]`` membrane potential before reset.
        decoder: ``"temporal"`` or ``"mean"``.

    Returns:
        The decisions of the batch. Raises ``ValueError`` for another decoder name.
    """
    spikes = np.asarray(spikes, dtype=np.float64)
    v_pre = np.asarray(v_pre, dtype=np.float64)
    batch, timesteps, _ = spikes.shape
    weighted = spikes * time_weights(timesteps, decoder)[None, :, None]
    score = np.cumsum(weighted, axis=1)
    key = np.cumsum(weighted * v_pre, axis=1)
    leading = score == score.max(axis=2, keepdims=True)
    leader = np.where(leading, key, -np.inf).argmax(axis=2)
    decided = score[:, -1].max(axis=1) > 0
    label = np.where(decided, leader[:, -1], v_pre[:, -1].argmax(axis=1))
    label_score = np.take_along_axis(score, label[:, None, None], axis=2)[:, :, 0]
    changed = (leader != label[:, None]) | (label_score <= 0)
    last_change = np.where(changed.any(axis=1), timesteps - 1 - changed[:, ::-1].argmax(axis=1), -1)
    step = np.where(decided, last_change + 1, timesteps)
    return FirstSpikeDecision(label=label, step=step, decided=decided)


def decide(spikes: np.ndarray, v_pre: np.ndarray, decoder: str) -> FirstSpikeDecision:
    """Return the decisions of ``decoder`` (one of :data:`DECODERS`) for ``[B, T, C]`` traces.

    Raises:
        ValueError: for an unknown decoder name.
    """
    if decoder == "first_spike":
        return first_spike_decision(spikes, v_pre)
    if decoder in ("temporal", "mean"):
        return aggregate_decision(spikes, v_pre, decoder)
    raise ValueError(f"unknown decoder {decoder!r}; choose one of {list(DECODERS)}")
