"""The first float-vs-fixed divergence of a run and its likely cause.

**Which slot is "first".** Slots are ordered by sample, then algorithmic step, then
layer (graph order), then neuron. The torch model computes every layer within a
step, so at the first slot in this order every layer upstream of the diverging one
still agrees with the float run at this step and all earlier ones: the diverging
layer received exactly the float model's input spikes, and the cause lies in that
layer's own integer parameters or arithmetic.

**The cause, by re-simulation.** :func:`simulate_hybrid` runs one ``synapse -> neuron``
layer (any synapse kind with float and fixed-point kernels: dense, convolution,
pooling; stock LIF, soft-reset LIF, TTFS or multi-threshold LIF neurons) in Lava's
units (``v`` = 64 x the integer membrane) where each of five factors is either as
the hardware computes it or exact (as the float model):

* ``weight_rounding``: the integer synapse's fixed-point kernel vs ``scale`` x the
  float synapse's kernel (``scale * W @ s`` for a Dense; convolutions alike): rounding
  and clipping of the weights, the floor shift of ``weight_exp``;
* ``threshold_rounding``: ``v > vth << 6`` (``>=`` for the kinds that compare so) vs
  ``v >= 64 * scale * threshold``;
* ``decay_rounding``: Lava's 12-bit decays rounding toward zero vs ``u (1 - decay)``;
* ``bias_rounding``: ``bias_mant << bias_exp`` vs ``64 * scale * bias``;
* ``overflow_saturation``: the 24-bit wrap of ``u``, int32 wraps and the clip of
  ``v`` vs unbounded state.

The threshold test and reset are the neuron kind's firing rule
(:class:`latdeploy.neurons.base.NeuronKind`, run on numpy). With every factor "hardware" it
equals the fixed-point simulator bit for bit; with
every factor exact it is the float model in scaled units (tests check both). For
the diverging (sample, neuron) the layer is re-run with one factor made exact at a
time; the factors that remove the divergence (the neuron's spikes up to the step
equal the float model's) are its causes, ranked by how far each moves the membrane
at the diverging step towards the float value. When no single factor suffices,
the factors whose hardware version alone, with everything else exact, creates a
divergence are reported instead (``method: "one_factor_hardware"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from latdeploy.hw.arithmetic import LOIHI
from latdeploy.ir import Graph, Node
from latdeploy.neurons.base import NumpyOps
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.sim.fixed import FIXED_KERNELS
from latdeploy.sim.float_sim import FLOAT_KERNELS
from latdeploy.sim.trace import Trace

FACTORS = ("weight_rounding", "threshold_rounding", "decay_rounding", "bias_rounding", "overflow_saturation")
WINDOW = 3
_STATE_LIMIT = float(LOIHI.state_limit)
_SHIFT = float(1 << LOIHI.threshold_shift)


def first_causal_divergence(reference: Trace, candidate: Trace) -> dict[str, int | str] | None:
    """Return the first slot where two traces differ, in (sample, step, layer, neuron) order.

    Returns:
        ``{"sample", "step", "layer", "neuron"}`` or None when they agree everywhere.
    """
    names = list(reference.layers)
    best: tuple[int, int, int, int] | None = None
    for index, name in enumerate(names):
        differ = np.argwhere(reference.layers[name].spikes != candidate.layers[name].spikes)
        if differ.size == 0:
            continue
        keys = [(int(s), int(t), index, int(n)) for s, t, n in differ]
        first = min(keys)
        if best is None or first < best:
            best = first
    if best is None:
        return None
    sample, step, index, neuron = best
    return {"sample": sample, "step": step, "layer": names[index], "neuron": neuron}


def _wrap32(values: np.ndarray) -> np.ndarray:
    return (values + 2.0**31) % 2.0**32 - 2.0**31


def _trunc_decay(state: np.ndarray, factor: int) -> np.ndarray:
    return np.trunc(state * factor / float(LOIHI.decay_unity))


def synaptic_input_float(synapse: Node, spikes: np.ndarray) -> np.ndarray:
    """Return the float synapse's output ``[B, T, out]`` (float64) for ``spikes`` ``[B, T, in]``,
    computed by its registered float kernel (float32, as the float model computes it)."""
    time_first = torch.from_numpy(np.asarray(spikes, np.float32)).transpose(0, 1)
    with torch.no_grad():
        current = FLOAT_KERNELS.get(type(synapse))(synapse, time_first)
    return current.transpose(0, 1).reshape(spikes.shape[0], spikes.shape[1], -1).numpy().astype(np.float64)


def simulate_hybrid(
    dense: Node,
    lif: Node,
    synapse: Node,
    neuron: Node,
    scale: float,
    spikes_in: np.ndarray,
    exact: frozenset[str] | set[str] = frozenset(),
) -> tuple[np.ndarray, np.ndarray]:
    """Run one layer with the ``exact`` factors as the float model and the rest as Lava.

    Args:
        dense, lif: the float layer (a synapse and a neuron of a registered kind);
        synapse, neuron: its quantized version (the integer synapse and neuron).
        scale: integer membrane units per float unit (``quantization.json``'s ``scale``).
        spikes_in: ``[B, T, in]`` input spikes (graded payloads multiply the weights).
        exact: a subset of :data:`FACTORS`.

    Returns:
        ``(spikes, v_pre)``, ``[B, T, N]`` each (spikes are payloads); ``v_pre`` in Lava
        units (64 x integer membrane).
    """
    batch, steps, _ = spikes_in.shape
    kind = NEURON_KINDS.kind_of(neuron)
    if "weight_rounding" in exact:
        current = synaptic_input_float(dense, spikes_in) * scale
    else:
        current = FIXED_KERNELS.get(type(synapse))(synapse, spikes_in).astype(np.float64)
    bias = (
        lif.bias.astype(np.float64) * scale * _SHIFT
        if "bias_rounding" in exact
        else (neuron.bias_mant.astype(np.float64) * 2.0**neuron.bias_exp)
    )
    # the float model computes in float32: a tie within rounding error counts as reached
    exact_threshold = "threshold_rounding" in exact
    theta = lif.threshold * scale * _SHIFT * (1.0 - 1e-9) if exact_threshold else float(neuron.vth) * _SHIFT
    ops = NumpyOps(">=" if exact_threshold else kind.comparison)  # the float model compares >=
    overflow = "overflow_saturation" not in exact
    decay = "decay_rounding" in exact
    u = np.zeros((batch, lif.size))
    v = np.zeros((batch, lif.size))
    state = kind.start(ops, v)
    spikes = np.zeros((batch, steps, lif.size), np.uint8)
    v_pre = np.zeros((batch, steps, lif.size))
    for step in range(steps):
        drive = current[:, step] * _SHIFT
        decayed_u = u * (1.0 - lif.current_decay) if decay else _trunc_decay(u, LOIHI.decay_unity - (neuron.du + 1))
        if overflow:
            u = _wrap32(decayed_u + _wrap32(drive))
            u = np.where(u > _STATE_LIMIT, u - 2 * _STATE_LIMIT, np.where(u <= -_STATE_LIMIT, u + 2 * _STATE_LIMIT, u))
        else:
            u = decayed_u + drive
        decayed_v = v * (1.0 - lif.voltage_decay) if decay else _trunc_decay(v, LOIHI.decay_unity - neuron.dv)
        v = decayed_v + u + bias
        if overflow:
            v = np.clip(_wrap32(v), -_STATE_LIMIT + 1, _STATE_LIMIT - 1)
        firing = kind.fire(ops, v, theta, state, neuron)
        v_pre[:, step] = firing.v_pre
        spikes[:, step] = firing.payload
        v, state = firing.v, firing.state
    return spikes, v_pre


def _layer_pairs(float_graph: Graph, int_graph: Graph, layer: str):
    try:
        pair = (float_graph.node(layer), int_graph.node(layer))
        pair = (float_graph.node(pair[0].inputs[0]), pair[0], int_graph.node(pair[1].inputs[0]), pair[1])
    except KeyError:
        return None
    dense, neuron, synapse, int_neuron = pair
    kind = NEURON_KINDS.of_node(type(int_neuron))
    matching = kind is not None and (kind.float_node, kind.int_node) == (type(neuron), type(int_neuron))
    synapses = dense.kind == synapse.kind == "synapse" and type(dense) in FLOAT_KERNELS
    return pair if matching and synapses and type(synapse) in FIXED_KERNELS else None


def _scale_of(int_graph: Graph, layer: str) -> float | None:
    for entry in int_graph.metadata.get("quantization", []):
        if entry.get("neuron") == layer and "scale" in entry:
            return float(entry["scale"])
    return None


def explain_divergence(
    float_graph: Graph,
    int_graph: Graph,
    input_spikes: np.ndarray,
    float_trace: Trace,
    fixed_trace: Trace,
    where: dict[str, Any],
) -> dict[str, Any]:
    """Return membrane traces around the divergence ``where`` and its likely cause.

    Returns:
        ``where`` plus ``float_fired``, ``fixed_fired``, ``membrane`` (steps, float
        ``v_pre`` in float units, fixed ``v_pre`` as integer membrane and in float
        units, both thresholds) and ``cause`` (``factors`` ranked, ``method``,
        ``fixes``: per factor whether making it exact removes the divergence).
        Layers whose neurons are not a registered kind's float and integer nodes, or whose synapse lacks a float or
        fixed-point kernel (or is fed through a delay node or another synapse, e.g. a pool), get
        ``cause: {"factors": [], "method": "not_analysed", "fixes": {}}``.
    """
    layer, sample, step, neuron = where["layer"], where["sample"], where["step"], where["neuron"]
    float_layer, fixed_layer = float_trace.layers[layer], fixed_trace.layers[layer]
    low, high = max(0, step - WINDOW), min(float_layer.spikes.shape[1], step + WINDOW + 1)
    steps = list(range(low, high))
    scale = _scale_of(int_graph, layer)
    pair = _layer_pairs(float_graph, int_graph, layer)
    fixed_v = fixed_layer.v_pre[sample, low:high, neuron].astype(np.int64) >> LOIHI.threshold_shift
    membrane: dict[str, Any] = {
        "steps": steps,
        "float": [float(x) for x in float_layer.v_pre[sample, low:high, neuron]],
        "fixed_int": [int(x) for x in fixed_v],
    }
    result = {
        **where,
        "float_fired": int(float_layer.spikes[sample, step, neuron]),
        "fixed_fired": int(fixed_layer.spikes[sample, step, neuron]),
        "membrane": membrane,
    }
    if pair is None or scale is None:
        result["cause"] = {"factors": [], "method": "not_analysed", "fixes": {}}
        return result
    dense, lif, synapse, int_neuron = pair
    membrane["fixed"] = [float(x) / scale for x in fixed_v]
    membrane["threshold_float"] = float(lif.threshold)
    membrane["threshold_fixed"] = float(int_neuron.vth) / scale
    membrane["threshold_fixed_comparison"] = NEURON_KINDS.kind_of(int_neuron).comparison
    membrane["scale"] = scale
    upstream = float_graph.node(dense.inputs[0]).name
    if upstream != float_graph.input.name and upstream not in float_trace.layers:  # fed by another synapse
        result["cause"] = {"factors": [], "method": "not_analysed", "fixes": {}}
        return result
    spikes_in = input_spikes if upstream == float_graph.input.name else float_trace.layers[upstream].spikes
    spikes_in = np.asarray(spikes_in[sample : sample + 1, : step + 1])
    target = float_layer.spikes[sample, : step + 1, neuron]

    def run(exact: set[str]) -> tuple[bool, float]:
        spikes, v_pre = simulate_hybrid(dense, lif, synapse, int_neuron, scale, spikes_in, exact)
        return bool((spikes[0, :, neuron] == target).all()), float(v_pre[0, step, neuron])

    _, v_hardware = run(set())
    v_float = float(float_layer.v_pre[sample, step, neuron]) * scale * _SHIFT
    fixes, moved = {}, {}
    for factor in FACTORS:
        fixes[factor], v_exact = run({factor})
        moved[factor] = abs(v_hardware - v_float) - abs(v_exact - v_float)
    factors = sorted((f for f in FACTORS if fixes[f]), key=lambda f: (-moved[f], FACTORS.index(f)))
    method = "one_factor_exact"
    if not factors:
        method = "one_factor_hardware"
        factors = [f for f in FACTORS if not run(set(FACTORS) - {f})[0]]
    result["cause"] = {"factors": factors, "method": method, "fixes": fixes}
    return result
