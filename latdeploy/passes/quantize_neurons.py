"""Quantize a synapse feeding one of the extra neurons (soft reset, TTFS, multi-threshold).

In units where the integer membrane ``V = v / 64`` approximates ``scale * V_float``:

* **threshold, exact.** The neurons compare ``v >= vth << 6`` (greater-or-equal,
  like torch). The scale is snapped so that ``threshold * scale`` is an integer:
  ``vth = floor(threshold * scale_0)`` (at least 1; ``scale_0`` from the weights
  as for the stock LIF) and ``scale = vth / threshold``. Then the float test
  ``V_float >= threshold``, the level tests ``V_float >= k threshold`` and the soft
  reset ``V_float - s threshold`` are the integer ones exactly, on every value ``v``
  takes (multiples of 64 or not). Snapping down never clips more weights.
* **weights**: on Lava's grid as the stock LIF's (``quantize.weight_grid``, through
  the synapse's registered :class:`~latdeploy.passes.quantize.SynapseQuantizer`), at
  ``scale / 2**weight_exp``; ``weight_exp`` (<= 0) is lowered until ``vth`` fits its
  17 bits, and for ``levels`` graded levels until ``levels * (vth << 6)`` fits the
  24-bit membrane (a synapse without a weight exponent, ``Conv``, takes a smaller
  scale instead).
* **bias**: ``bias_mant = round(bias * scale)`` at ``bias_exp = 6`` (13-bit, clipped).
* **decays**: ``du = round(current_decay * 4096) - 1`` (Lava adds 1 back),
  ``dv = round(voltage_decay * 4096)``. Exact when ``current_decay * 4096`` and
  ``voltage_decay * 4096`` are integers, ``current_decay >= 1/4096``. What stays
  inexact is the hardware's rounding toward zero of each decay: ``u`` (and ``v``)
  lose less than one LSB of ``v`` (1/64 of ``V``) per step, so with a current
  decay ``c`` the current is off by less than ``1 / (64 c)`` in ``V`` units, which
  the calibration below measures as spike agreement. ``current_decay = 1``
  (``du = 4095``, ``u = a << 6``) and ``voltage_decay = 0`` are exact.

The clipping point of ``|W|`` is calibrated by :func:`latdeploy.passes.quantize.quantize`
as for the stock LIF; :func:`quantize_neuron_layer` is registered for the three float
neuron kinds with :func:`~latdeploy.passes.quantize.register_neuron_quantizer`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from latdeploy.errors import QuantizationRangeError
from latdeploy.hw.profile import Profile
from latdeploy.ir import Node
from latdeploy.ir.neurons_ext import (
    FLOAT_TO_INT,
    STATE_MAX,
    TTFS,
    FloatNeuron,
    IntNeuron,
    MultiThresholdLIF,
    SoftResetLIF,
)
from latdeploy.passes.quantize import register_neuron_quantizer, synapse_quantizer, weight_grid

BIAS_EXP = 6
DECAY_UNITY = 4096


def decay_fields(current_decay: float, voltage_decay: float) -> tuple[int, int, bool]:
    """Return ``(du, dv, exact)``: Lava's decay fields and whether they represent the float decays exactly."""
    du = int(np.clip(round(current_decay * DECAY_UNITY) - 1, 0, DECAY_UNITY - 1))
    dv = int(np.clip(round(voltage_decay * DECAY_UNITY), 0, DECAY_UNITY - 1))
    exact = (du + 1) / DECAY_UNITY == current_decay and dv / DECAY_UNITY == voltage_decay
    return du, dv, exact


@register_neuron_quantizer(SoftResetLIF)
@register_neuron_quantizer(TTFS)
@register_neuron_quantizer(MultiThresholdLIF)
def quantize_neuron_layer(
    synapse: Node, neuron: FloatNeuron, profile: Profile, clip_quantile: float, weight_bits: int
) -> tuple[Node, IntNeuron, dict[str, Any]]:
    """Quantize ``synapse -> neuron`` with the scale set by ``clip_quantile`` of ``|W|``.

    Returns:
        ``(synapse_int, neuron_int, facts)``; ``facts`` is JSON-able.

    Raises:
        UnsupportedLayerError: if the synapse kind has no quantizer.
        QuantizationRangeError: if no weight exponent in the profile's range fits the
            threshold (and the top graded level) into the hardware's ranges.
    """
    quantizer = synapse_quantizer(synapse)
    weight = np.asarray(quantizer.weights(synapse), np.float64)
    sign_mode, step, lowest, highest = weight_grid(weight, weight_bits)
    magnitude = np.abs(weight)
    clip_value = float(np.quantile(magnitude, clip_quantile)) if magnitude.max() > 0 else 1.0
    clip_value = clip_value if clip_value > 0 else float(magnitude.max() or 1.0)
    grid_scale = highest / clip_value
    levels = neuron.levels if isinstance(neuron, MultiThresholdLIF) else 1
    vth_max = min(
        (1 << profile["arithmetic.threshold_mantissa_bits"]) - 1,
        STATE_MAX // (levels << profile["arithmetic.threshold_shift"]),
    )
    weight_exp = 0
    if not quantizer.has_weight_exp and neuron.threshold * grid_scale > vth_max:
        grid_scale = vth_max / neuron.threshold
    while math.floor(neuron.threshold * grid_scale * 2.0**weight_exp + 1e-9) > vth_max:
        weight_exp -= 1
        if weight_exp < profile["arithmetic.weight_exp_min"]:
            raise QuantizationRangeError(
                f"node {neuron.name!r}: threshold {neuron.threshold} x scale {grid_scale:.4g} exceeds the largest "
                f"vth {vth_max} (17-bit mantissa, {levels} level(s) in 24 bits) even at weight_exp "
                f"{profile['arithmetic.weight_exp_min']}; retrain with a smaller threshold-to-weight ratio"
            )
    vth = max(1, math.floor(neuron.threshold * grid_scale * 2.0**weight_exp + 1e-9))
    scale = vth / neuron.threshold
    ideal = weight * scale / 2.0**weight_exp
    weight_int = np.clip(np.round(ideal / step) * step, lowest, highest).astype(np.int32)
    bias_limit = 1 << (profile["arithmetic.bias_mantissa_bits"] - 1)
    bias_ideal = np.round(neuron.bias.astype(np.float64) * scale)
    bias_mant = np.clip(bias_ideal, -bias_limit, bias_limit - 1).astype(np.int32)
    du, dv, decays_exact = decay_fields(neuron.current_decay, neuron.voltage_decay)

    synapse_int = quantizer.build(synapse, weight_int, weight_exp, weight_bits)
    extra = {"levels": neuron.levels, "reset": neuron.reset} if isinstance(neuron, MultiThresholdLIF) else {}
    integer = FLOAT_TO_INT[type(neuron)](
        neuron.name, neuron.inputs, du=du, dv=dv, vth=vth, bias_mant=bias_mant, bias_exp=BIAS_EXP, **extra
    )
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
        "threshold_scaled": neuron.threshold * scale,
        "bias_clipped": int((bias_mant != bias_ideal).sum()),
        "du": du,
        "dv": dv,
        "decays_exact": decays_exact,
        "levels": levels,
    }
    return synapse_int, integer, facts
