"""Spike-for-spike comparison of runs that are already aligned to algorithmic time.

Three runs of the same samples: the float model, the fixed-point simulator (every
sample) and the hardware, a backend of :mod:`latdeploy.backends` (the first ``n``
samples; ``n`` may be all). Comparisons that involve the hardware use its samples only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latdeploy.ir import Graph
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.nn.decoders import FirstSpikeDecision, first_spike_decision
from latdeploy.report import schema_versions
from latdeploy.sim.trace import LayerTrace, Trace
from latdeploy.verify.divergence import explain_divergence, first_causal_divergence
from latdeploy.verify.schema import upgrade_parity

PERCENTILES = (50, 90, 99)
NO_FLOAT_REASON = "n/a (integer file): no float model to compare against"
"""Why an integer file's report has no float run (``float_run.reason``)."""
NO_LABELS_REASON = "n/a: the data has no labels"


def first_divergence(reference: np.ndarray, candidate: np.ndarray) -> dict[str, int] | None:
    """Return the first (sample, step, neuron) where two ``[B, T, N]`` arrays differ, or None."""
    differ = np.argwhere(reference != candidate)
    if differ.size == 0:
        return None
    order = np.lexsort((differ[:, 2], differ[:, 1], differ[:, 0]))
    sample, step, neuron = (int(i) for i in differ[order[0]])
    return {"sample": sample, "step": step, "neuron": neuron}


def head(trace: Trace, samples: int) -> Trace:
    """Return ``trace`` restricted to its first ``samples`` samples (state arrays included)."""

    def cut(array: np.ndarray | None) -> np.ndarray | None:
        return None if array is None or array.ndim < 3 else array[:samples]

    layers = {
        name: LayerTrace(layer.spikes[:samples], cut(layer.v_pre), cut(layer.u), cut(layer.v))
        for name, layer in trace.layers.items()
    }
    return Trace(layers=layers, overflow=trace.overflow)


def compare(reference: Trace, candidate: Trace) -> dict[str, Any]:
    """Count compared and mismatching (sample, layer, neuron, step) spike slots.

    Returns:
        ``{compared, mismatches, first_divergence}``; the first divergence is the
        earliest slot in (sample, step, layer, neuron) order (see
        :func:`latdeploy.verify.divergence.first_causal_divergence`), or None.
    """
    compared = mismatches = 0
    for name, layer in reference.layers.items():
        compared += layer.spikes.size
        mismatches += int((layer.spikes != candidate.layers[name].spikes).sum())
    return {
        "compared": compared,
        "mismatches": mismatches,
        "first_divergence": first_causal_divergence(reference, candidate),
    }


def first_spike_times(spikes: np.ndarray) -> np.ndarray:
    """Return each (sample, neuron)'s first spike step of ``[B, T, N]`` spikes, -1 where none."""
    fired = spikes > 0
    return np.where(fired.any(axis=1), fired.argmax(axis=1), -1)


def first_spike_shifts(reference: np.ndarray, candidate: np.ndarray) -> dict[str, Any]:
    """Distribution of first-spike-time shifts ``candidate - reference`` over (sample, neuron).

    Returns:
        ``{histogram: {shift: count}, both_fired, only_reference, only_candidate,
        mean_abs_shift}`` (shift in steps; pairs where neither fired are left out).
    """
    ref, cand = first_spike_times(reference), first_spike_times(candidate)
    both = (ref >= 0) & (cand >= 0)
    shifts = (cand - ref)[both]
    values, counts = np.unique(shifts, return_counts=True)
    return {
        "histogram": {str(int(v)): int(c) for v, c in zip(values, counts, strict=True)},
        "both_fired": int(both.sum()),
        "only_reference": int(((ref >= 0) & (cand < 0)).sum()),
        "only_candidate": int(((ref < 0) & (cand >= 0)).sum()),
        "mean_abs_shift": float(np.abs(shifts).mean()) if shifts.size else 0.0,
    }


def latency_summary(decision: FirstSpikeDecision, lag: int, timesteps: int) -> dict[str, Any]:
    """Decision latency of decided samples in algorithmic steps and hardware steps (``+ lag``).

    Returns:
        ``{mean_step, undecided, percentiles: {p50, p90, p99}, histogram, hardware: {mean_step,
        percentiles}}``; statistics are over decided samples (null when none decided);
        ``histogram[t]`` counts the samples decided at algorithmic step ``t``.
    """
    steps = decision.step[decision.decided].astype(np.float64)
    histogram = np.bincount(decision.step[decision.decided].astype(np.int64), minlength=timesteps)[:timesteps]

    def stats(values: np.ndarray) -> dict[str, Any]:
        if values.size == 0:
            return {"mean_step": None, "percentiles": {f"p{p}": None for p in PERCENTILES}}
        return {
            "mean_step": float(values.mean()),
            "percentiles": {f"p{p}": float(np.percentile(values, p)) for p in PERCENTILES},
        }

    return {
        **stats(steps),
        "undecided": int((~decision.decided).sum()),
        "histogram": [int(c) for c in histogram],
        "hardware": stats(steps + lag),
    }


def _agreement(a: np.ndarray, b: np.ndarray) -> list[float]:
    return [float(x) for x in (a == b).mean(axis=(0, 2))]


def _is_ttfs(graph: Graph, name: str) -> bool:
    kind = NEURON_KINDS.of_node(type(graph.node(name)))
    return kind is not None and kind.single_spike


def parity_report(
    graph: Graph,
    labels: np.ndarray | None,
    float_trace: Trace | None,
    fixed_trace: Trace,
    hardware_trace: Trace,
    hardware_steps: int,
    hardware: str,
    float_graph: Graph | None = None,
    input_spikes: np.ndarray | None = None,
) -> dict[str, Any]:
    """Return the content of ``parity.json`` for three aligned runs of the same samples.

    ``float_trace`` None (an integer file, which has no float model) and ``labels`` None (data
    without labels) leave every value that needs them null, and ``float_run``/``labels`` say why
    (:func:`_without_float`); the fixed-vs-hardware parity is complete either way.

    ``hardware_trace`` is the run of the backend named ``hardware`` (:mod:`latdeploy.backends`);
    it may hold fewer samples than the others (their first ``n``). With ``float_graph`` and
    ``input_spikes`` the first float-vs-fixed divergence is explained (membrane traces and
    cause, :func:`explain_divergence`).

    Keys (:mod:`latdeploy.verify.schema`): ``schema_version``
    (:data:`latdeploy.report.schema_versions.PARITY`), ``hardware`` (the backend's name), ``samples``,
    ``hardware_samples``, ``timesteps`` (algorithmic per sample), ``hardware_steps`` (the whole
    backend run), ``fixed_vs_hardware``, ``float_vs_fixed`` (``compared``, ``mismatches``,
    ``first_divergence``), ``output_state_vs_hardware`` (``u``/``v``/``v_pre`` of the output
    layer), ``accuracy`` (and ``accuracy_samples``: over how many samples each run's was measured),
    ``decision_agreement``, ``decision_latency`` (runs ``float``, ``fixed``,
    ``hardware``) and ``layers`` (per layer spike counts, mismatches, lag, per-step agreement,
    first-spike shifts).
    """
    if float_trace is None or labels is None:
        return _without_float(graph, labels, float_trace, fixed_trace, hardware_trace, hardware_steps, hardware)
    hardware_samples = next(iter(hardware_trace.layers.values())).spikes.shape[0]
    fixed_head, float_head = head(fixed_trace, hardware_samples), head(float_trace, hardware_samples)
    traces = {"float": float_trace, "fixed": fixed_trace, "hardware": hardware_trace}
    decisions = {
        name: first_spike_decision(trace.output().spikes, trace.output().v_pre) for name, trace in traces.items()
    }
    output_name = list(fixed_trace.layers)[-1]
    output_lag = graph.lag(output_name)
    layers = []
    for name, fixed_layer in fixed_trace.layers.items():
        float_spikes, hardware_spikes = float_trace.layers[name].spikes, hardware_trace.layers[name].spikes
        fixed_spikes = fixed_layer.spikes
        fixed_on_hardware = fixed_spikes[:hardware_samples]
        entry = {
            "name": name,
            "kind": type(graph.node(name)).__name__,
            "neurons": int(fixed_spikes.shape[2]),
            "lag": graph.lag(name),
            "spikes_float": int(float_spikes.sum()),
            "spikes_fixed": int(fixed_spikes.sum()),
            "spikes_hardware": int(hardware_spikes.sum()),
            "mismatches_float_vs_fixed": int((float_spikes != fixed_spikes).sum()),
            "mismatches_fixed_vs_hardware": int((fixed_on_hardware != hardware_spikes).sum()),
            "agreement_float_vs_fixed": float((float_spikes == fixed_spikes).mean()),
            "agreement_fixed_vs_hardware": float((fixed_on_hardware == hardware_spikes).mean()),
            "per_step_agreement_float_vs_fixed": _agreement(float_spikes, fixed_spikes),
            "per_step_agreement_fixed_vs_hardware": _agreement(fixed_on_hardware, hardware_spikes),
            "overflow_fixed": fixed_trace.overflow.get(name, {}),
        }
        if name == output_name or _is_ttfs(graph, name):
            entry["first_spike_shift_float_vs_fixed"] = first_spike_shifts(float_spikes, fixed_spikes)
            entry["first_spike_shift_fixed_vs_hardware"] = first_spike_shifts(fixed_on_hardware, hardware_spikes)
        layers.append(entry)

    def agree(a: str, b: str) -> float:
        n = hardware_samples if "hardware" in (a, b) else labels.size
        return float((decisions[a].label[:n] == decisions[b].label[:n]).mean())

    float_vs_fixed = compare(float_trace, fixed_trace)
    where = float_vs_fixed["first_divergence"]
    if where is not None and float_graph is not None and input_spikes is not None:
        float_vs_fixed["first_divergence"] = explain_divergence(
            float_graph, graph, input_spikes, float_trace, fixed_trace, where
        )
    fixed_out, hardware_out = fixed_head.output(), hardware_trace.output()
    return {
        "schema_version": schema_versions.PARITY,
        "hardware": hardware,
        "samples": int(labels.size),
        "hardware_samples": int(hardware_samples),
        "timesteps": graph.timesteps,
        "hardware_steps": int(hardware_steps),
        "fixed_vs_hardware": compare(fixed_head, hardware_trace),
        "float_vs_fixed": float_vs_fixed,
        "float_vs_fixed_on_hardware_samples": compare(float_head, fixed_head)["mismatches"],
        "output_state_vs_hardware": {
            key: int((getattr(fixed_out, key) != getattr(hardware_out, key)).sum()) for key in ("u", "v", "v_pre")
        },
        "accuracy": {name: float((d.label == labels[: d.label.size]).mean()) for name, d in decisions.items()},
        "accuracy_samples": {name: int(d.label.size) for name, d in decisions.items()},
        "accuracy_on_hardware_samples": {
            name: float((d.label[:hardware_samples] == labels[:hardware_samples]).mean())
            for name, d in decisions.items()
        },
        "decision_agreement": {
            "float_vs_fixed": agree("float", "fixed"),
            "fixed_vs_hardware": agree("fixed", "hardware"),
            "float_vs_hardware": agree("float", "hardware"),
        },
        "decision_latency": {name: latency_summary(d, output_lag, graph.timesteps) for name, d in decisions.items()},
        "layers": layers,
        "float_run": {"available": True, "reason": None},
        "labels": {"available": True, "reason": None},
    }


def _without_float(
    graph: Graph,
    labels: np.ndarray | None,
    float_trace: Trace | None,
    fixed_trace: Trace,
    hardware_trace: Trace,
    hardware_steps: int,
    hardware: str,
) -> dict[str, Any]:
    """:func:`parity_report` where the float run or the labels are missing: the report of the runs
    there are (the fixed-point run standing in for the float one), with every value that needs the
    missing run or the labels set to null."""
    samples = next(iter(fixed_trace.layers.values())).spikes.shape[0]
    stand_in = float_trace if float_trace is not None else fixed_trace
    report = parity_report(
        graph,
        labels if labels is not None else np.zeros(samples, np.int64),
        stand_in,
        fixed_trace,
        hardware_trace,
        hardware_steps,
        hardware,
    )
    if labels is None:
        report["accuracy"] = dict.fromkeys(report["accuracy"])
        report["accuracy_on_hardware_samples"] = dict.fromkeys(report["accuracy_on_hardware_samples"])
        report["labels"] = {"available": False, "reason": NO_LABELS_REASON}
    if float_trace is not None:
        return report
    report["float_run"] = {"available": False, "reason": NO_FLOAT_REASON}
    report["float_vs_fixed"] = {"compared": None, "mismatches": None, "first_divergence": None}
    report["float_vs_fixed_on_hardware_samples"] = None
    report["accuracy"]["float"] = None
    report["accuracy_on_hardware_samples"]["float"] = None
    report["accuracy_samples"]["float"] = 0
    report["decision_agreement"]["float_vs_fixed"] = None
    report["decision_agreement"]["float_vs_hardware"] = None
    del report["decision_latency"]["float"]
    for layer in report["layers"]:
        layer["spikes_float"] = layer["mismatches_float_vs_fixed"] = layer["agreement_float_vs_fixed"] = None
        layer["per_step_agreement_float_vs_fixed"] = []
        layer.pop("first_spike_shift_float_vs_fixed", None)
    return report


def has_float_run(report: dict[str, Any]) -> bool:
    """Return whether a parity report (current schema) compares against a float run (False for an
    integer file's; True for reports written before ``float_run`` existed)."""
    return bool(report.get("float_run", {}).get("available", True))


def parity_ok(report: dict[str, Any]) -> bool:
    """Return whether the fixed-point simulator and the hardware agree in ``report`` (a parity report
    of any schema version): no spike mismatch, no output-state difference, none in robustness reruns."""
    report = upgrade_parity(report)
    reruns = report.get("robustness") or []
    return (
        report["fixed_vs_hardware"]["mismatches"] == 0
        and not any(report["output_state_vs_hardware"].values())
        and all(entry["fixed_vs_hardware"]["mismatches"] == 0 for entry in reruns)
    )
