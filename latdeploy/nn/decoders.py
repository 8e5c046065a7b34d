"""Output decoders: from output spike trains to a class decision and its latency."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FirstSpikeDecision:
    """Decisions of a batch: ``label[b]``, ``step[b]`` (first output spike step, or
    ``timesteps`` when no output neuron fired) and ``decided[b]``."""

    label: np.ndarray
    step: np.ndarray
    decided: np.ndarray


def first_spike_decision(spikes: np.ndarray, v_pre: np.ndarray) -> FirstSpikeDecision:
    """Decide each sample by the output neuron that fires first.

    Args:
        spikes: ``[B, T, C]`` 0/1 output spikes.
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
