"""Spike-for-spike comparison of runs that are already aligned to algorithmic time."""

from __future__ import annotations

from typing import Any

import numpy as np

from latdeploy.ir import Graph
from latdeploy.nn.decoders import FirstSpikeDecision, first_spike_decision
from latdeploy.sim.trace import Trace


def first_divergence(reference: np.ndarray, candidate: np.ndarray) -> dict[str, int] | None:
    """Return the first (sample, step, neuron) where two ``[B, T, N]`` arrays differ, or None."""
    differ = np.argwhere(reference != candidate)
    if differ.size == 0:
        return None
    order = np.lexsort((differ[:, 2], differ[:, 1], differ[:, 0]))
    sample, step, neuron = (int(i) for i in differ[order[0]])
    return {"sample": sample, "step": step, "neuron": neuron}


def compare(reference: Trace, candidate: Trace) -> dict[str, Any]:
    """Count compared and mismatching (sample, layer, neuron, step) spike slots."""
    compared = mismatches = 0
    first = None
    for name, layer in reference.layers.items():
        other = candidate.layers[name].spikes
        compared += layer.spikes.size
        mismatches += int((layer.spikes != other).sum())
        if first is None and (divergence := first_divergence(layer.spikes, other)) is not None:
            first = {"layer": name, **divergence}
    return {"compared": compared, "mismatches": mismatches, "first_divergence": first}


def _decision_summary(decision: FirstSpikeDecision, labels: np.ndarray) -> dict[str, float]:
    return {
        "accuracy": float((decision.label == labels).mean()),
        "mean_decision_step": float(decision.step.mean()),
        "undecided": int((~decision.decided).sum()),
    }


def parity_report(
    graph: Graph, labels: np.ndarray, float_trace: Trace, fixed_trace: Trace, lava_trace: Trace, hardware_steps: int
) -> dict[str, Any]:
    """Return the content of ``parity.json`` for three aligned runs of the same samples.

    Keys: ``samples``, ``timesteps`` (algorithmic per sample), ``hardware_steps``
    (the whole Lava run), ``fixed_vs_lava``, ``float_vs_fixed`` (``compared``,
    ``mismatches``, ``first_divergence``), ``output_state_vs_lava`` (``u``/``v``/
    ``v_pre`` of the output layer), ``accuracy``, ``decision_agreement``,
    ``decision_latency`` and ``layers`` (per layer spike counts, mismatches, lag).
    """
    decisions = {
        name: first_spike_decision(trace.output().spikes, trace.output().v_pre)
        for name, trace in (("float", float_trace), ("fixed", fixed_trace), ("lava", lava_trace))
    }
    summaries = {name: _decision_summary(d, labels) for name, d in decisions.items()}
    fixed_out, lava_out = fixed_trace.output(), lava_trace.output()
    layers = []
    for name, fixed_layer in fixed_trace.layers.items():
        float_spikes, lava_spikes = float_trace.layers[name].spikes, lava_trace.layers[name].spikes
        layers.append(
            {
                "name": name,
                "neurons": int(fixed_layer.spikes.shape[2]),
                "lag": graph.lag(name),
                "spikes_float": int(float_spikes.sum()),
                "spikes_fixed": int(fixed_layer.spikes.sum()),
                "spikes_lava": int(lava_spikes.sum()),
                "mismatches_float_vs_fixed": int((float_spikes != fixed_layer.spikes).sum()),
                "mismatches_fixed_vs_lava": int((fixed_layer.spikes != lava_spikes).sum()),
                "overflow_fixed": fixed_trace.overflow.get(name, {}),
            }
        )
    agree = lambda a, b: float((decisions[a].label == decisions[b].label).mean())  # noqa: E731
    return {
        "samples": int(labels.size),
        "timesteps": graph.timesteps,
        "hardware_steps": int(hardware_steps),
        "fixed_vs_lava": compare(fixed_trace, lava_trace),
        "float_vs_fixed": compare(float_trace, fixed_trace),
        "output_state_vs_lava": {
            key: int((getattr(fixed_out, key) != getattr(lava_out, key)).sum()) for key in ("u", "v", "v_pre")
        },
        "accuracy": {name: s["accuracy"] for name, s in summaries.items()},
        "decision_agreement": {"float_vs_fixed": agree("float", "fixed"), "fixed_vs_lava": agree("fixed", "lava")},
        "decision_latency": {
            name: {"mean_step": s["mean_decision_step"], "undecided": s["undecided"]} for name, s in summaries.items()
        },
        "layers": layers,
    }
