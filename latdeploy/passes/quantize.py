"""QuantizeForProfile: float ``synapse -> neuron`` layers to Lava's integer nodes.

Per layer, in units where the integer membrane ``V`` (``v >> 6``) approximates
``scale * V_float``:

* weights: ``W_int = clip(round(W * scale / step) * step)`` on Lava's weight grid
  (mixed sign at 8 bits: even values in [-256, 254]), ``weight_exp`` chosen so
  that the threshold and bias fit their mantissas (0 when they fit); a synapse
  whose Lava process has no weight exponent (``Conv``) takes a smaller scale instead;
* threshold: torch fires on ``V >= threshold``, Loihi on ``v > vth << 6``. With
  ``du = 4095`` (no current memory), ``dv = 0`` and ``bias_exp = 6``, ``v`` is
  always a multiple of 64, so ``vth = ceil(threshold * scale) - 1`` makes the two
  conditions identical on the integer grid — exactly, including equality;
* decays: ``du = round(current_decay * 4096) - 1`` (Lava adds 1 back),
  ``dv = round(voltage_decay * 4096)``;
* bias: ``bias_mant = round(bias * scale)`` with ``bias_exp = 6``.

Scales are per layer: one ``vth`` and one ``weight_exp`` per Lava process (the profile's
``quantization.per_channel_scales`` says whether the target could do better; Lava's LIF
cannot, its ``vth`` is one value per process). Each layer's report says so
(``scale_granularity``, ``per_channel_scales_available`` in ``extra``).

The scale is calibrated on data: for each candidate clipping point of ``|W|``
(the maximum, then high quantiles) the layer is simulated in fixed point on the
float model's own input spikes, and the candidate whose output spikes agree best
with the float layer wins (the maximum on ties). A layer whose weights already lie on
the grid of the maximum (``W * scale / 2**weight_exp`` integers up to float32 rounding: a
model from ``latdeploy finetune``) keeps the maximum, so that its trained integers are the
exported ones. Back-to-back synapses (a pool feeding a conv, ...) are first merged into one
(:mod:`latdeploy.passes.fuse_synapses`).

Registry contract (a new node kind plugs in by registering):

* :func:`register_synapse_quantizer` ``(FloatType, SynapseQuantizer(weights, build,
  has_weight_exp))``: ``weights(node)`` gives the float weights that set the scale,
  ``build(node, weight_int, weight_exp, bits)`` the integer node (``weight_int`` on
  Lava's grid, same shape as ``weights(node)``).
* :func:`register_neuron_quantizer` ``(FloatType)`` on ``fn(synapse, neuron, profile,
  clip_quantile, weight_bits) -> (int_synapse, int_neuron, facts)``; ``facts`` is a
  JSON-able dict (keys of :class:`LayerQuantization` land there, others in ``extra``).
* :func:`register_passthrough` ``(Type)``: nodes copied unchanged (input, delays).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from latdeploy.errors import QuantizationRangeError, UnsupportedLayerError
from latdeploy.hw.profile import Profile
from latdeploy.ir import LIF, Dense, DenseInt, Graph, LIFInt, Node, SpikeInput
from latdeploy.passes.fuse_synapses import fuse_synapse_chains
from latdeploy.passes.range_analysis import layer_bounds, payload_max
from latdeploy.sim.fixed import FIXED_KERNELS, STATE_LIMIT
from latdeploy.sim.float_sim import simulate_float

CLIP_QUANTILES = (1.0, 0.9999, 0.999, 0.995, 0.99)
GRID_TOLERANCE = 1e-5  # relative; float32 weights on the grid are within 6e-8 of it
BIAS_EXP = 6
DECAY_UNITY = 4096


@dataclass(frozen=True)
class SynapseQuantizer:
    """How to quantize one float synapse kind (see the module docstring)."""

    weights: Callable[[Node], np.ndarray]
    build: Callable[[Node, np.ndarray, int, int], Node]
    has_weight_exp: bool = True


NeuronQuantizer = Callable[[Node, Node, Profile, float, int], tuple[Node, Node, dict[str, Any]]]
SYNAPSE_QUANTIZERS: dict[type[Node], SynapseQuantizer] = {}
NEURON_QUANTIZERS: dict[type[Node], NeuronQuantizer] = {}
PASSTHROUGH: set[type[Node]] = {SpikeInput}


def register_synapse_quantizer(node_type: type[Node], quantizer: SynapseQuantizer) -> None:
    """Register how float synapses of ``node_type`` are quantized."""
    SYNAPSE_QUANTIZERS[node_type] = quantizer


def register_neuron_quantizer(node_type: type[Node]) -> Callable[[NeuronQuantizer], NeuronQuantizer]:
    """Decorator: register the layer quantizer of float neurons of ``node_type``; returns it."""

    def decorate(function: NeuronQuantizer) -> NeuronQuantizer:
        NEURON_QUANTIZERS[node_type] = function
        return function

    return decorate


def register_passthrough(node_type: type[Node]) -> None:
    """Register ``node_type`` as copied unchanged into the integer graph."""
    PASSTHROUGH.add(node_type)


def synapse_quantizer(node: Node) -> SynapseQuantizer:
    """Return the registered quantizer of synapse ``node``.

    Raises:
        UnsupportedLayerError: if its type has none.
    """
    quantizer = SYNAPSE_QUANTIZERS.get(type(node))
    if quantizer is None:
        raise UnsupportedLayerError(
            f"node {node.name!r}: {type(node).__name__} cannot be quantized as a synapse; "
            f"supported: {sorted(t.__name__ for t in SYNAPSE_QUANTIZERS)}"
        )
    return quantizer


register_synapse_quantizer(
    Dense,
    SynapseQuantizer(
        weights=lambda node: node.weight,
        build=lambda node, weight, weight_exp, bits: DenseInt(
            node.name, node.inputs, weight=weight, weight_exp=weight_exp, num_weight_bits=bits
        ),
    ),
)


@dataclass
class LayerQuantization:
    """What quantizing one ``synapse -> neuron`` layer did (all JSON-able); facts a
    neuron kind adds beyond these fields are in ``extra``."""

    synapse: str
    neuron: str
    sign_mode: str
    clip_quantile: float
    scale: float
    weight_exp: int
    weight_bits: int
    weights_clipped: int
    weights_clipped_pct: float
    weight_relative_rms_error: float
    vth: int
    threshold_scaled: float
    bias_clipped: int
    du: int
    dv: int
    worst_case_abs_input_per_step: int
    worst_case_u_overflow_possible: bool
    calibration_spike_agreement: float
    calibration_max_abs_v_pre: int
    calibration_overflows: dict[str, int]
    threshold_rounding_error: float
    threshold_relative_error: float
    state_range: dict[str, Any] | None
    extra: dict[str, Any] = field(default_factory=dict)


def weight_grid(weight: np.ndarray, bits: int) -> tuple[str, int, int, int]:
    """Return (sign mode, step, lowest, highest) of Lava's weight grid for ``weight``."""
    mixed = bool(weight.min() < 0 < weight.max())
    inhibitory = not mixed and bool(weight.min() < 0)
    step = 1 << (8 - bits + int(mixed))
    highest = (255 // step) * step
    if mixed:
        return "mixed", step, -256, highest
    if inhibitory:
        return "inhibitory", step, -highest, 0
    return "excitatory", step, 0, highest


def clip_scale(weight: np.ndarray, clip_quantile: float, highest: int) -> float:
    """Return the scale that puts the ``clip_quantile`` of ``|weight|`` at the grid's ``highest`` value."""
    magnitude = np.abs(weight)
    clip_value = float(np.quantile(magnitude, clip_quantile)) if magnitude.max() > 0 else 1.0
    clip_value = clip_value if clip_value > 0 else float(magnitude.max() or 1.0)
    return highest / clip_value


def snap_weights(ideal: np.ndarray, step: int, lowest: int, highest: int) -> np.ndarray:
    """Return the scaled float weights ``ideal`` rounded onto Lava's grid (int32).

    Clipping is symmetric (mixed sign: never ``-256``, the grid's extra negative value), so the
    largest ``|W_int|`` is at most ``highest``: quantizing ``W_int / scale`` again finds the same
    scale, as fine-tuning's committed weights need (:mod:`latdeploy.integer_forward`).
    """
    return np.clip(np.round(ideal / step) * step, max(lowest, -highest), highest).astype(np.int32)


def bias_fields(bias: np.ndarray, scale: float, profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(bias_mant, bias_ideal)``: ``round(bias * scale)`` clipped to the profile's bias
    mantissa, and unclipped."""
    bias_limit = 1 << (profile["arithmetic.bias_mantissa_bits"] - 1)
    bias_ideal = np.round(bias.astype(np.float64) * scale)
    return np.clip(bias_ideal, -bias_limit, bias_limit - 1).astype(np.int32), bias_ideal


def decay_fields(current_decay: float, voltage_decay: float) -> tuple[int, int, bool]:
    """Return ``(du, dv, exact)``: Lava's decay fields and whether they represent the float decays exactly."""
    du = int(np.clip(round(current_decay * DECAY_UNITY) - 1, 0, DECAY_UNITY - 1))
    dv = int(np.clip(round(voltage_decay * DECAY_UNITY), 0, DECAY_UNITY - 1))
    exact = (du + 1) / DECAY_UNITY == current_decay and dv / DECAY_UNITY == voltage_decay
    return du, dv, exact


def layer_facts(
    grid: tuple[str, int, int, int],
    ideal: np.ndarray,
    weight_int: np.ndarray,
    bias: tuple[np.ndarray, np.ndarray],
    neuron_int: Node,
    threshold: float,
    scale: float,
    weight_exp: int,
    clip_quantile: float,
    weight_bits: int,
) -> dict[str, Any]:
    """Return the facts every neuron quantizer reports: the weight ``grid`` (:func:`weight_grid`), the
    scaled float (``ideal``) and integer weights, ``bias`` (:func:`bias_fields`), the integer neuron
    (its ``vth``, ``du``, ``dv``), the float ``threshold`` and the choices made."""
    sign_mode, _, lowest, highest = grid
    bias_mant, bias_ideal = bias
    clipped = int((np.abs(ideal) > np.maximum(abs(lowest), highest)).sum())
    denominator = float(np.sqrt((ideal**2).mean())) or 1.0
    return {
        "sign_mode": sign_mode,
        "clip_quantile": clip_quantile,
        "scale": scale,
        "weight_exp": weight_exp,
        "weight_bits": weight_bits,
        "weights_clipped": clipped,
        "weights_clipped_pct": 100.0 * clipped / ideal.size,
        "weight_relative_rms_error": float(np.sqrt(((weight_int - ideal) ** 2).mean())) / denominator,
        "vth": neuron_int.vth,
        "threshold_scaled": threshold * scale,
        "bias_clipped": int((bias_mant != bias_ideal).sum()),
        "du": neuron_int.du,
        "dv": neuron_int.dv,
    }


@register_neuron_quantizer(LIF)
def quantize_layer(
    dense: Node, lif: LIF, profile: Profile, clip_quantile: float, weight_bits: int
) -> tuple[Node, LIFInt, dict]:
    """Quantize one ``synapse -> LIF`` layer with the scale set by ``clip_quantile`` of ``|W|``.

    Returns:
        ``(synapse_int, lif_int, facts)`` where ``facts`` feed :class:`LayerQuantization`.

    Raises:
        UnsupportedLayerError: if the synapse kind has no quantizer.
        QuantizationRangeError: if no weight exponent in the profile's range fits
            the threshold into its mantissa.
    """
    quantizer = synapse_quantizer(dense)
    weight = np.asarray(quantizer.weights(dense), np.float64)
    grid = weight_grid(weight, weight_bits)
    _, step, lowest, highest = grid
    grid_scale = clip_scale(weight, clip_quantile, highest)
    ideal = weight * grid_scale
    weight_int = snap_weights(ideal, step, lowest, highest)

    vth_max = (1 << profile["arithmetic.threshold_mantissa_bits"]) - 1
    weight_exp = 0
    if not quantizer.has_weight_exp and lif.threshold * grid_scale > vth_max + 1:
        grid_scale = (vth_max + 1) / lif.threshold
        ideal = weight * grid_scale
        weight_int = snap_weights(ideal, step, lowest, highest)
    while quantizer.has_weight_exp and lif.threshold * grid_scale * 2.0**weight_exp > vth_max + 1:
        weight_exp -= 1
        if weight_exp < profile["arithmetic.weight_exp_min"]:
            raise QuantizationRangeError(
                f"node {lif.name!r}: threshold {lif.threshold} x scale {grid_scale:.4g} exceeds the "
                f"{profile['arithmetic.threshold_mantissa_bits']}-bit threshold mantissa even at weight_exp "
                f"{profile['arithmetic.weight_exp_min']}; retrain with a smaller threshold-to-weight ratio"
            )
    scale = grid_scale * 2.0**weight_exp
    vth = max(math.ceil(lif.threshold * scale) - 1, 0)
    bias = bias_fields(lif.bias, scale, profile)
    du, dv, _ = decay_fields(lif.current_decay, lif.voltage_decay)

    synapse = quantizer.build(dense, weight_int, weight_exp, weight_bits)
    neuron = LIFInt(lif.name, lif.inputs, du=du, dv=dv, vth=vth, bias_mant=bias[0], bias_exp=BIAS_EXP)
    facts = {
        **layer_facts(
            grid, ideal, weight_int, bias, neuron, lif.threshold, scale, weight_exp, clip_quantile, weight_bits
        ),
        **worst_case_input(synapse, profile),
    }
    return synapse, neuron, facts


def worst_case_input(synapse: Node, profile: Profile) -> dict[str, Any]:
    """Return the largest ``|a|`` one step can bring (all inputs spiking on same-sign weights,
    after ``weight_exp``) and whether ``a << 6`` could overflow 24 bits."""
    weight = np.abs(np.asarray(synapse.weight, np.int64))
    per_step = weight.reshape(weight.shape[0], -1).sum(axis=1)
    weight_exp = int(getattr(synapse, "weight_exp", 0))
    per_step = per_step << weight_exp if weight_exp >= 0 else per_step >> -weight_exp
    worst = int(per_step.max())
    return {
        "worst_case_abs_input_per_step": worst,
        "worst_case_u_overflow_possible": bool((worst << profile["arithmetic.activation_shift"]) >= STATE_LIMIT),
    }


def quantize(
    graph: Graph, profile: Profile, calibration_spikes: np.ndarray, weight_bits: int | None = None
) -> tuple[Graph, list[LayerQuantization]]:
    """Return the integer graph for ``profile`` and a per-layer report.

    ``calibration_spikes`` (``[B, T, n_in]``, training data) choose each layer's
    clipping point as the module docstring says. The input graph is not changed.

    Raises:
        UnsupportedLayerError: if a neuron has no quantizer, its input is not a
            quantizable synapse, or a node is neither a layer part nor pass-through.
        QuantizationRangeError: if a layer cannot be represented (see :func:`quantize_layer`).
    """
    bits = weight_bits or profile["arithmetic.weight_bits"]
    if not 1 <= bits <= profile["arithmetic.weight_bits"]:
        raise QuantizationRangeError(f"weight bits {bits} outside 1..{profile['arithmetic.weight_bits']}")
    reference = simulate_float(graph, calibration_spikes)
    graph = fuse_synapse_chains(graph)
    synapses = {graph.node(n.inputs[0]).name for n in graph.neurons() if n.inputs}
    spikes_of: dict[str, np.ndarray] = {}
    nodes: list = []
    report: list[LayerQuantization] = []
    known = {f.name for f in fields(LayerQuantization)}
    for node in graph.nodes:
        if isinstance(node, SpikeInput):
            spikes = np.asarray(calibration_spikes, np.uint8)
            spikes_of[node.name] = spikes.reshape(*spikes.shape[:2], -1)
            nodes.append(node)
        elif type(node) in PASSTHROUGH:
            spikes_of[node.name] = FIXED_KERNELS[type(node)](node, *(spikes_of[i] for i in node.inputs))
            nodes.append(node)
        elif node.kind == "neuron":
            synapse_int, neuron_int, facts = _calibrate(graph, node, profile, bits, spikes_of, reference)
            spikes_of[node.name] = reference.layers[node.name].spikes
            nodes.extend([synapse_int, neuron_int])
            extra = {k: v for k, v in facts.items() if k not in known}
            report.append(
                LayerQuantization(
                    synapse=synapse_int.name,
                    neuron=node.name,
                    extra=extra,
                    **{k: v for k, v in facts.items() if k in known},
                )
            )
        elif node.name not in synapses:
            raise UnsupportedLayerError(
                f"node {node.name!r}: {type(node).__name__} cannot be quantized (it is neither a neuron, "
                "the synapse feeding one, nor a pass-through node)"
            )
    summary = [asdict(layer) for layer in report]
    return graph.replace_nodes(nodes, profile=profile.name, quantization=summary), report


def on_grid(synapse: Node, synapse_int: Node, scale: float) -> bool:
    """Return True when ``synapse``'s float weights are ``synapse_int``'s integers divided by
    ``scale / 2**weight_exp``, up to float32 rounding (a fine-tuned layer)."""
    weight = np.asarray(synapse_quantizer(synapse).weights(synapse), np.float64)
    units = weight * scale / 2.0 ** int(getattr(synapse_int, "weight_exp", 0))
    integer = np.asarray(synapse_int.weight, np.float64)
    return bool(np.abs(units - integer).max() <= GRID_TOLERANCE * max(1.0, float(np.abs(integer).max())))


def _calibrate(
    graph: Graph, neuron: Node, profile: Profile, bits: int, spikes_of: dict[str, np.ndarray], reference: Any
) -> tuple[Node, Node, dict[str, Any]]:
    """Quantize ``neuron`` and its synapse at each clip quantile; keep the best-agreeing one."""
    quantizer = NEURON_QUANTIZERS.get(type(neuron))
    if quantizer is None:
        raise UnsupportedLayerError(
            f"node {neuron.name!r}: neuron {type(neuron).__name__} has no quantizer; "
            f"supported: {sorted(t.__name__ for t in NEURON_QUANTIZERS)}"
        )
    synapse = graph.node(neuron.inputs[0])
    if synapse.kind != "synapse" or len(neuron.inputs) != 1:
        raise UnsupportedLayerError(
            f"node {neuron.name!r}: a neuron must take exactly one synapse as input, not {type(synapse).__name__}"
        )
    inputs = [spikes_of[name] for name in synapse.inputs]
    target = reference.layers[neuron.name].spikes
    best = None
    for quantile in CLIP_QUANTILES:
        synapse_int, neuron_int, facts = quantizer(synapse, neuron, profile, quantile, bits)
        current = FIXED_KERNELS[type(synapse_int)](synapse_int, *inputs)
        trace, overflow = FIXED_KERNELS[type(neuron_int)](neuron_int, current)
        agreement = float((trace.spikes == target).mean())
        if best is None or agreement > best[3]:
            best = (synapse_int, neuron_int, facts, agreement, trace, overflow)
        if quantile == 1.0 and on_grid(synapse, synapse_int, float(facts["scale"])):
            break
    synapse_int, neuron_int, facts, agreement, trace, overflow = best
    firing_threshold = neuron_int.vth + 1 if isinstance(neuron_int, LIFInt) else neuron_int.vth  # > vs >=
    scaled = float(facts["threshold_scaled"])
    payload = payload_max(graph.node(synapse.inputs[0])) if synapse.inputs else 1
    facts = {
        **worst_case_input(synapse_int, profile),
        **facts,
        "calibration_spike_agreement": agreement,
        "calibration_max_abs_v_pre": int(np.abs(trace.v_pre).max()),
        "calibration_overflows": overflow,
        "threshold_rounding_error": firing_threshold - scaled,
        "threshold_relative_error": (firing_threshold - scaled) / scaled if scaled else 0.0,
        "state_range": layer_bounds(synapse_int, neuron_int, payload, graph.timesteps, profile),
        "scale_granularity": "per-layer",
        "per_channel_scales_available": bool(profile["quantization.per_channel_scales"]),
    }
    return synapse_int, neuron_int, facts


from latdeploy.passes import quantize_conv as _quantize_conv  # noqa: E402,F401  (registers conv kinds)
from latdeploy.passes import quantize_neurons as _quantize_neurons  # noqa: E402,F401  (registers soft-reset, TTFS, multi-threshold)
