"""QuantizeForProfile: float ``Dense -> LIF`` pairs to Lava's integer ``DenseInt -> LIFInt``.

Per layer, in units where the integer membrane ``V`` (``v >> 6``) approximates
``scale * V_float``:

* weights: ``W_int = clip(round(W * scale / step) * step)`` on Lava's weight grid
  (mixed sign at 8 bits: even values in [-256, 254]), ``weight_exp`` chosen so
  that the threshold and bias fit their mantissas (0 when they fit);
* threshold: torch fires on ``V >= threshold``, Loihi on ``v > vth << 6``. With
  ``du = 4095`` (no current memory), ``dv = 0`` and ``bias_exp = 6``, ``v`` is
  always a multiple of 64, so ``vth = ceil(threshold * scale) - 1`` makes the two
  conditions identical on the integer grid — exactly, including equality;
* decays: ``du = round(current_decay * 4096) - 1`` (Lava adds 1 back),
  ``dv = round(voltage_decay * 4096)``;
* bias: ``bias_mant = round(bias * scale)`` with ``bias_exp = 6``.

The scale is calibrated on data: for each candidate clipping point of ``|W|``
(the maximum, then high quantiles) the layer is simulated in fixed point on the
float model's own input spikes, and the candidate whose output spikes agree best
with the float layer wins (the maximum on ties).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from latdeploy.errors import QuantizationRangeError, UnsupportedLayerError
from latdeploy.hw.profile import Profile
from latdeploy.ir import LIF, Dense, DenseInt, Graph, LIFInt, SpikeInput
from latdeploy.sim.fixed import STATE_LIMIT, dense_int, lif_int
from latdeploy.sim.float_sim import simulate_float

CLIP_QUANTILES = (1.0, 0.9999, 0.999, 0.995, 0.99)
BIAS_EXP = 6


@dataclass
class LayerQuantization:
    """What quantizing one ``Dense -> LIF`` pair did (all JSON-able)."""

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


def quantize_layer(
    dense: Dense, lif: LIF, profile: Profile, clip_quantile: float, weight_bits: int
) -> tuple[DenseInt, LIFInt, dict]:
    """Quantize one pair with the scale set by ``clip_quantile`` of ``|W|``.

    Returns:
        ``(dense_int, lif_int, facts)`` where ``facts`` feed :class:`LayerQuantization`.

    Raises:
        QuantizationRangeError: if no weight exponent in the profile's range fits
            the threshold into its mantissa.
    """
    weight = dense.weight.astype(np.float64)
    sign_mode, step, lowest, highest = weight_grid(weight, weight_bits)
    magnitude = np.abs(weight)
    clip_value = float(np.quantile(magnitude, clip_quantile)) if magnitude.max() > 0 else 1.0
    clip_value = clip_value if clip_value > 0 else float(magnitude.max() or 1.0)
    grid_scale = highest / clip_value
    ideal = weight * grid_scale
    weight_int = np.clip(np.round(ideal / step) * step, lowest, highest).astype(np.int32)

    vth_max = (1 << profile["arithmetic.threshold_mantissa_bits"]) - 1
    weight_exp = 0
    while lif.threshold * grid_scale * 2.0**weight_exp > vth_max + 1:
        weight_exp -= 1
        if weight_exp < profile["arithmetic.weight_exp_min"]:
            raise QuantizationRangeError(
                f"node {lif.name!r}: threshold {lif.threshold} x scale {grid_scale:.4g} exceeds the "
                f"{profile['arithmetic.threshold_mantissa_bits']}-bit threshold mantissa even at weight_exp "
                f"{profile['arithmetic.weight_exp_min']}; retrain with a smaller threshold-to-weight ratio"
            )
    scale = grid_scale * 2.0**weight_exp
    vth = max(math.ceil(lif.threshold * scale) - 1, 0)
    bias_limit = 1 << (profile["arithmetic.bias_mantissa_bits"] - 1)
    bias_ideal = np.round(lif.bias.astype(np.float64) * scale)
    bias_mant = np.clip(bias_ideal, -bias_limit, bias_limit - 1).astype(np.int32)
    du = int(np.clip(round(lif.current_decay * 4096) - 1, 0, 4095))
    dv = int(np.clip(round(lif.voltage_decay * 4096), 0, 4095))

    synapse = DenseInt(dense.name, dense.inputs, weight=weight_int, weight_exp=weight_exp, num_weight_bits=weight_bits)
    neuron = LIFInt(lif.name, lif.inputs, du=du, dv=dv, vth=vth, bias_mant=bias_mant, bias_exp=BIAS_EXP)
    per_step = np.abs(weight_int.astype(np.int64)).sum(axis=1)
    per_step = per_step << weight_exp if weight_exp >= 0 else per_step >> -weight_exp
    worst = int(per_step.max())
    clipped = int((np.abs(ideal) > np.maximum(abs(lowest), highest)).sum())
    denominator = float(np.sqrt((ideal**2).mean())) or 1.0
    facts = {
        "sign_mode": sign_mode,
        "clip_quantile": clip_quantile,
        "scale": scale,
        "weight_exp": weight_exp,
        "weight_bits": weight_bits,
        "weights_clipped": clipped,
        "weights_clipped_pct": 100.0 * clipped / weight.size,
        "weight_relative_rms_error": float(np.sqrt(((weight_int - ideal) ** 2).mean())) / denominator,
        "vth": vth,
        "threshold_scaled": lif.threshold * scale,
        "bias_clipped": int((bias_mant != bias_ideal).sum()),
        "du": du,
        "dv": dv,
        "worst_case_abs_input_per_step": worst,
        "worst_case_u_overflow_possible": bool((worst << profile["arithmetic.activation_shift"]) >= STATE_LIMIT),
    }
    return synapse, neuron, facts


def quantize(
    graph: Graph, profile: Profile, calibration_spikes: np.ndarray, weight_bits: int | None = None
) -> tuple[Graph, list[LayerQuantization]]:
    """Return the integer graph for ``profile`` and a per-layer report.

    ``calibration_spikes`` (``[B, T, n_in]``, training data) choose each layer's
    clipping point as the module docstring says. The input graph is not changed.

    Raises:
        UnsupportedLayerError: if the graph is not a chain of ``Dense -> LIF`` pairs.
        QuantizationRangeError: if a layer cannot be represented (see :func:`quantize_layer`).
    """
    bits = weight_bits or profile["arithmetic.weight_bits"]
    if not 1 <= bits <= profile["arithmetic.weight_bits"]:
        raise QuantizationRangeError(f"weight bits {bits} outside 1..{profile['arithmetic.weight_bits']}")
    reference = simulate_float(graph, calibration_spikes)
    spikes_of = {graph.input.name: np.asarray(calibration_spikes, np.uint8)}
    spikes_of.update({name: layer.spikes for name, layer in reference.layers.items()})
    nodes: list = []
    report: list[LayerQuantization] = []
    for node in graph.nodes:
        if isinstance(node, SpikeInput):
            nodes.append(node)
        elif isinstance(node, LIF):
            dense = graph.node(node.inputs[0])
            if not isinstance(dense, Dense):
                raise UnsupportedLayerError(
                    f"node {node.name!r}: a LIF must follow a Dense, not {type(dense).__name__}"
                )
            best = None
            for quantile in CLIP_QUANTILES:
                synapse, neuron, facts = quantize_layer(dense, node, profile, quantile, bits)
                trace, overflow = lif_int(neuron, dense_int(synapse, spikes_of[dense.inputs[0]]))
                agreement = float((trace.spikes == reference.layers[node.name].spikes).mean())
                if best is None or agreement > best[3]:
                    best = (synapse, neuron, facts, agreement, trace, overflow)
            synapse, neuron, facts, agreement, trace, overflow = best
            nodes.extend([synapse, neuron])
            report.append(
                LayerQuantization(
                    synapse=dense.name,
                    neuron=node.name,
                    calibration_spike_agreement=agreement,
                    calibration_max_abs_v_pre=int(np.abs(trace.v_pre).max()),
                    calibration_overflows=overflow,
                    **facts,
                )
            )
        elif not isinstance(node, Dense):
            raise UnsupportedLayerError(f"node {node.name!r}: {type(node).__name__} cannot be quantized yet")
    summary = [asdict(layer) for layer in report]
    return graph.replace_nodes(nodes, profile=profile.name, quantization=summary), report
