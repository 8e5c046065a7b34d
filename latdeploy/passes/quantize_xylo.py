"""Quantize a float ``Dense -> SoftResetLIF`` network for SynSense Xylo (:data:`~latdeploy.hw.arithmetic.XYLO`).

Per layer, in units where Xylo's ``Vmem`` approximates ``scale * v_float``:

* decays: Xylo decays by bit shifts, ``x -= x >> dash``, so ``current_decay`` must be ``2**-dash_syn``
  (``dash_syn`` in 1..15; Xylo decays the current after adding the input, so ``current_decay = 1``,
  no current state, would clear every input) and ``voltage_decay`` ``2**-dash_mem`` (0..15);
  ``voltage_decay = 0`` (no leak) runs as ``dash_mem = 15``, and the report says so: a Xylo state
  always moves at least one step toward zero;
* weights: Xylo computes ``Isyn = (1 - 2**-dash_syn) (Isyn + input)``, the float model
  ``u = (1 - current_decay) u + input``; so ``Isyn = scale * u`` when the integer input is
  ``scale / (1 - current_decay)`` times the float one. ``W_int << weight_shift`` approximates
  ``W * scale / (1 - current_decay)``, ``weight_shift`` (0..7) the smallest that keeps ``W_int`` in 8 bits;
* threshold: ``round(threshold * scale)``, compared ``Vmem >= threshold`` like the float model;
  the reset subtracts it, like ``nn.LIF(reset="subtract")``;
* bias: ``round(bias * scale)`` (the first hidden layer only: :mod:`latdeploy.hw.xylo_rules`).

``scale`` is calibrated as Loihi's is (:mod:`latdeploy.passes.quantize`): for each candidate
integer threshold in :data:`THRESHOLD_CANDIDATES` the layer is simulated on the float model's own
input spikes and the one whose spikes agree best with the float layer wins. Hidden layers after
the first share Xylo's one recurrent ``weight_shift``: they are quantized again with the smallest.

What Xylo cannot take is refused with the reason (:data:`REFUSED`): other neuron kinds, other
synapses (convolutions, pools, delays). Xylo's hidden neurons may emit up to 31 spikes a step where
the float neuron emits one; the calibration's multi-spike slots are reported per layer.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from latdeploy.errors import QuantizationRangeError, UnsupportedLayerError
from latdeploy.hw.arithmetic import XYLO
from latdeploy.hw.xylo_rules import XYLO_AUDIO2, XyloLimits, check_xylo_graph
from latdeploy.ir import Dense, Graph, Node, SoftResetLIF, SpikeInput
from latdeploy.ir.xylo_nodes import HIDDEN_SPIKES, READOUT_SPIKES, XyloIAFInt
from latdeploy.passes.fuse_synapses import fuse_synapse_chains
from latdeploy.sim.float_sim import simulate_float
from latdeploy.sim.xylo_fixed import xylo_iaf_int

THRESHOLD_CANDIDATES = (256, 512, 1024, 2048, 4096, 8192)
"""Integer thresholds tried per layer (powers of two up to a quarter of Xylo's 16-bit range)."""
REFUSED = {
    "LIF": "resets to zero; Xylo's neurons subtract the threshold (train it with nn.LIF(reset='subtract'))",
    "TTFS": "fires at most once per sample; Xylo has no single-spike neuron",
    "MultiThresholdLIF": "sends graded spikes of K levels; Xylo's hidden neurons send up to 31 spikes a step "
    "with no cap at K, its readout neurons one",
    "DelayedResetLIF": "resets one step late (snnTorch's subtract reset); Xylo resets in the step it fires",
    "Conv2d": "Xylo has dense weight matrices only (no convolution)",
    "Pool2d": "Xylo has dense weight matrices only (no pooling)",
    "AxonalDelay": "Xylo has no axonal delays",
    "RecurrentDense": "a recurrent connection; Xylo's hidden neurons do have recurrent weights (w_rec), but "
    "latdeploy's Xylo path (quantizer, XyloIAFInt, xylosim check) maps feed-forward layers only: deploy it to a "
    "Loihi profile",
}
"""Float node types Xylo cannot run, with the reason."""


def _dash(node: Node, name: str, decay: float, low: int) -> int:
    """Return ``dash`` with ``decay == 2**-dash``, ``low <= dash <= 15``.

    Raises:
        QuantizationRangeError: naming the layer, the decay and what Xylo can do.
    """
    dash = -math.log2(decay) if decay > 0 else math.inf
    rounded = round(dash) if math.isfinite(dash) else -1
    if not low <= rounded < XYLO.decay_unity or abs(dash - rounded) > 1e-6:
        clears = name == "current_decay" and decay == 1
        note = "; current_decay 1 (no current state) would clear every input, as Xylo decays after adding it"
        raise QuantizationRangeError(
            f"layer {node.name!r}: {name} {decay:g} is not 2**-k for k in {low}..{XYLO.decay_unity - 1}; Xylo decays "
            f"by bit shifts (x -= x >> k){note if clears else ''}"
        )
    return rounded


def _refuse(node: Node) -> None:
    reason = REFUSED.get(type(node).__name__)
    raise UnsupportedLayerError(
        f"node {node.name!r}: {type(node).__name__} cannot run on Xylo: "
        + (reason or "Xylo takes Dense synapses into SoftResetLIF neurons (nn.Linear -> nn.LIF(reset='subtract'))")
    )


def _layers(graph: Graph) -> list[tuple[Dense, SoftResetLIF]]:
    """Return the ``(synapse, neuron)`` pairs of ``graph`` in order, refusing what Xylo cannot run."""
    pairs = []
    previous = graph.input.name
    for node in graph.nodes:
        if isinstance(node, SpikeInput):
            continue
        if node.kind == "neuron":
            if not isinstance(node, SoftResetLIF):
                _refuse(node)
            synapse = graph.node(node.inputs[0])
            if not isinstance(synapse, Dense) or synapse.inputs != (previous,):
                _refuse(synapse)
            pairs.append((synapse, node))
            previous = node.name
        elif not isinstance(node, Dense):
            _refuse(node)
    return pairs


def _layer(
    synapse: Dense,
    neuron: SoftResetLIF,
    target: int,
    shift: int | None,
    bits: int,
    source: str,
    first: bool,
    readout: bool,
) -> tuple[XyloIAFInt, dict[str, Any]]:
    """Quantize one layer for the integer threshold ``target`` (``shift``: a forced weight shift)."""
    dash_syn = _dash(neuron, "current_decay", neuron.current_decay, 1)
    leak_free = neuron.voltage_decay == 0
    dash_mem = XYLO.decay_unity - 1 if leak_free else _dash(neuron, "voltage_decay", neuron.voltage_decay, 0)
    scale = target / neuron.threshold
    effective = np.asarray(synapse.weight, np.float64) * scale / (1.0 - 2.0**-dash_syn)
    largest, top = float(np.abs(effective).max()), (1 << (bits - 1)) - 1
    if shift is None:
        shift = 0 if largest <= top else min(XYLO.weight_exp_max, math.ceil(math.log2(largest / top)))
    units = np.round(effective / 2**shift)
    weight = np.clip(units, -top - 1, top).astype(np.int32)
    bias_units = np.round(np.asarray(neuron.bias, np.float64) * scale)
    bias = np.clip(bias_units, XYLO.v_min, XYLO.v_max).astype(np.int32)
    threshold = int(min(max(round(neuron.threshold * scale), 1), XYLO.vth_max))
    node = XyloIAFInt(
        neuron.name,
        (source,),
        weight=weight,
        weight_shift=shift,
        dash_syn=np.full(neuron.size, dash_syn),
        dash_mem=np.full(neuron.size, dash_mem),
        threshold=np.full(neuron.size, threshold),
        bias=bias,
        max_spikes=READOUT_SPIKES if readout else HIDDEN_SPIKES,
        input_lag=0 if first else 1,
    )
    error = weight.astype(np.float64) * 2**shift - effective
    rms = float(np.sqrt(np.mean(effective**2)))
    counts_max = XYLO.max_input_spikes_per_step if first else HIDDEN_SPIKES
    worst = int(np.abs(weight.astype(np.int64) << shift).sum(axis=1).max()) * counts_max
    facts = {
        "synapse": synapse.name,
        "neuron": neuron.name,
        "sign_mode": "mixed",
        "scale": scale,
        "weight_exp": shift,
        "weight_bits": bits,
        "weights_clipped": int((units != weight).sum()),
        "weights_clipped_pct": float(100.0 * (units != weight).mean()),
        "weight_relative_rms_error": float(np.sqrt(np.mean(error**2)) / rms) if rms else 0.0,
        "vth": threshold,
        "threshold_scaled": neuron.threshold * scale,
        "bias_clipped": int((bias_units != bias).sum()),
        "du": dash_syn,
        "dv": dash_mem,
        "worst_case_abs_input_per_step": worst,
        "worst_case_u_overflow_possible": worst > XYLO.v_max,
        "threshold_rounding_error": threshold - neuron.threshold * scale,
        "threshold_relative_error": (threshold - neuron.threshold * scale) / (neuron.threshold * scale),
        "state_range": None,
        "arithmetic": XYLO.name,
        "dash_syn": dash_syn,
        "dash_mem": dash_mem,
        "voltage_leak": "voltage_decay 0 runs as dash_mem 15 (a Xylo state always moves at least 1 toward zero)"
        if leak_free
        else "exact power of two",
        "scale_granularity": "per-layer",
    }
    return node, facts


def _calibrated(
    synapse: Dense,
    neuron: SoftResetLIF,
    inputs: np.ndarray,
    target_spikes: np.ndarray,
    shift: int | None,
    bits: int,
    source: str,
    first: bool,
    readout: bool,
) -> tuple[XyloIAFInt, dict[str, Any]]:
    """Return the candidate threshold's layer whose spikes agree best with the float layer's."""
    best = None
    for target in THRESHOLD_CANDIDATES:
        node, facts = _layer(synapse, neuron, target, shift, bits, source, first, readout)
        trace, at_limit = xylo_iaf_int(node, inputs)
        agreement = float(((trace.spikes != 0) == (target_spikes != 0)).mean())
        if best is None or agreement >= best[2]:
            facts = {
                **facts,
                "clip_quantile": 1.0,
                "calibration_spike_agreement": agreement,
                "calibration_max_abs_v_pre": int(np.abs(trace.v_pre).max()),
                "calibration_overflows": at_limit,
                "calibration_multi_spike_slots": int((trace.spikes > 1).sum()),
            }
            best = (node, facts, agreement)
    return best[0], best[1]


def quantize_for_xylo(
    graph: Graph, calibration_spikes: np.ndarray, weight_bits: int | None = None, limits: XyloLimits = XYLO_AUDIO2
) -> tuple[Graph, list[dict[str, Any]]]:
    """Return the Xylo integer graph of the float ``graph`` and one report per layer.

    Args:
        graph: a float graph of ``Dense -> SoftResetLIF`` layers (the last one is Xylo's readout).
        calibration_spikes: ``[B, T, n_in]`` spikes that choose each layer's scale.
        weight_bits: at most 8 (Xylo's int8 weights); fewer narrows the weights.
        limits: the core's resources (:data:`~latdeploy.hw.xylo_rules.XYLO_AUDIO2`).

    Raises:
        UnsupportedLayerError: for a node Xylo cannot run, with the reason.
        QuantizationRangeError: for a decay Xylo's bit shifts cannot represent, or bad ``weight_bits``.
        ResourceError: if the network does not fit one Xylo core (names the layer and the limit).
    """
    bits = weight_bits or XYLO.weight_bits
    if not 1 <= bits <= XYLO.weight_bits:
        raise QuantizationRangeError(f"weight bits {bits} outside 1..{XYLO.weight_bits} (Xylo's int8 weights)")
    fused = fuse_synapse_chains(graph)
    check_xylo_graph(fused, limits)
    pairs = _layers(fused)
    reference = simulate_float(graph, calibration_spikes)
    graph = fused
    spikes = np.asarray(calibration_spikes, np.uint8)
    inputs = {graph.input.name: spikes.reshape(*spikes.shape[:2], -1)}
    inputs.update({neuron.name: reference.layers[neuron.name].spikes for _, neuron in pairs})

    def quantize_all(shift: int | None) -> list[tuple[XyloIAFInt, dict[str, Any]]]:
        done, source = [], graph.input.name
        for index, (synapse, neuron) in enumerate(pairs):
            readout = index == len(pairs) - 1
            forced = shift if 0 < index and not readout else None
            target = reference.layers[neuron.name].spikes
            done.append(_calibrated(synapse, neuron, inputs[source], target, forced, bits, source, index == 0, readout))
            source = neuron.name
        return done

    layers = quantize_all(None)
    recurrent = [node.weight_shift for node, _ in layers[1:-1]]
    if len(set(recurrent)) > 1:
        layers = quantize_all(min(recurrent))
    nodes: list[Node] = [graph.input, *(node for node, _ in layers)]
    int_graph = graph.replace_nodes(nodes)
    check_xylo_graph(int_graph, limits)
    return int_graph, [facts for _, facts in layers]
