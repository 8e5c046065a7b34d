"""Quantize a synapse feeding a neuron kind that compares greater-or-equal (soft reset, TTFS, multi-threshold).

In units where the integer membrane ``V = v / 64`` approximates ``scale * V_float``:

* **threshold, exact.** The neurons compare ``v >= vth << 6`` (greater-or-equal,
  like torch). The scale is snapped so that ``threshold * scale`` is an integer:
  ``vth = ceil(threshold * scale_0)`` when the clipping point still rounds to the
  grid's top value at that scale (``ceil / (threshold * scale_0) < 1 + step / (2 top)``),
  else ``floor`` (at least 1; ``scale_0`` from the weights as for the stock LIF), and
  ``scale = vth / threshold``. Then the float test ``V_float >= threshold``, the level
  tests ``V_float >= k threshold`` and the soft reset ``V_float - s threshold`` are the
  integer ones exactly, on every value ``v`` takes (multiples of 64 or not). Snapping up
  keeps the largest weight at the grid's top, so quantizing the dequantized weights
  ``W_int / scale`` again gives the same integers (what fine-tuning commits relies on);
  snapping down never clips more weights.
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
as for the stock LIF. A kind declares :func:`threshold_snapping_quantizer` of its integer node
as its quantizer (:class:`latdeploy.neurons.base.NeuronKind`). Every width comes from the
profile's :class:`~latdeploy.hw.arithmetic.Arithmetic`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from latdeploy.errors import QuantizationRangeError
from latdeploy.ir import Node
from latdeploy.ir.nodes import IntNeuronBase
from latdeploy.passes.quantize_layers import (
    BIAS_EXP,
    bias_fields,
    clip_scale,
    decay_fields,
    layer_facts,
    snap_weights,
    synapse_quantizer,
    weight_grid,
)

if TYPE_CHECKING:
    from latdeploy.hw.profile import Profile
    from latdeploy.neurons.base import NeuronQuantizer

SNAP_TOLERANCE = 1e-6  # relative; above float32 rounding (6e-8), so dequantized weights re-quantize alike
IntFields = Callable[[Node, float], dict[str, Any]]
"""``int_fields(neuron, scale)``: the integer node's fields beyond the CUBA ones, from the float neuron."""


def shared_fields(int_node: type[Node]) -> IntFields:
    """Return the :data:`IntFields` that copy the float neuron's values of ``int_node``'s own fields
    (those beyond the CUBA neuron's: e.g. ``levels`` and ``reset``)."""
    common = {f.name for f in dataclasses.fields(IntNeuronBase)}
    own = [f.name for f in dataclasses.fields(int_node) if f.name not in common]
    return lambda neuron, scale: {name: getattr(neuron, name) for name in own}


def _snap_threshold(scaled: float, vth_max: int, step: int, highest: int) -> int:
    """Return ``vth`` for the ideal ``threshold * scale`` ``scaled`` (see the module docstring)."""
    down = max(1, math.floor(scaled * (1 + SNAP_TOLERANCE)))
    up = max(1, math.ceil(scaled * (1 - SNAP_TOLERANCE)))
    return up if up <= vth_max and up / scaled < 1 + step / (2 * highest) else down


def quantize_neuron_layer(
    synapse: Node,
    neuron: Node,
    profile: Profile,
    clip_quantile: float,
    weight_bits: int,
    *,
    int_node: type[Node],
    int_fields: IntFields,
) -> tuple[Node, Node, dict[str, Any]]:
    """Quantize ``synapse -> neuron`` into an ``int_node`` with the scale set by ``clip_quantile`` of ``|W|``.

    ``neuron``'s ``levels`` (1 without) bounds ``vth`` so that every graded level fits the membrane;
    ``int_fields(neuron, scale)`` gives ``int_node``'s extra fields.

    Returns:
        ``(synapse_int, neuron_int, facts)``; ``facts`` is JSON-able.

    Raises:
        UnsupportedLayerError: if the synapse kind has no quantizer.
        QuantizationRangeError: if no weight exponent in the profile's range fits the
            threshold (and the top graded level) into the hardware's ranges.
    """
    arithmetic = profile.arithmetic
    quantizer = synapse_quantizer(synapse)
    weight = np.asarray(quantizer.weights(synapse), np.float64)
    grid = weight_grid(weight, weight_bits)
    _, step, lowest, highest = grid
    grid_scale = clip_scale(weight, clip_quantile, highest)
    levels = int(getattr(neuron, "levels", 1))
    vth_max = min(arithmetic.vth_max, arithmetic.v_max // (levels << arithmetic.threshold_shift))
    weight_exp = 0
    if not quantizer.has_weight_exp and neuron.threshold * grid_scale > vth_max:
        grid_scale = vth_max / neuron.threshold
    while math.floor(neuron.threshold * grid_scale * 2.0**weight_exp + 1e-9) > vth_max:
        weight_exp -= 1
        if weight_exp < arithmetic.weight_exp_min:
            raise QuantizationRangeError(
                f"node {neuron.name!r}: threshold {neuron.threshold} x scale {grid_scale:.4g} exceeds the largest "
                f"vth {vth_max} ({arithmetic.threshold_mantissa_bits}-bit mantissa, {levels} level(s) in "
                f"{arithmetic.v_state_bits} bits) even at weight_exp {arithmetic.weight_exp_min}; retrain with a "
                "smaller threshold-to-weight ratio"
            )
    vth = _snap_threshold(neuron.threshold * grid_scale * 2.0**weight_exp, vth_max, step, highest)
    scale = vth / neuron.threshold
    ideal = weight * scale / 2.0**weight_exp
    weight_int = snap_weights(ideal, step, lowest, highest)
    bias = bias_fields(neuron.bias, scale, arithmetic)
    du, dv, decays_exact = decay_fields(neuron.current_decay, neuron.voltage_decay, arithmetic)

    synapse_int = quantizer.build(synapse, weight_int, weight_exp, weight_bits)
    extra = int_fields(neuron, scale)
    integer = int_node(neuron.name, neuron.inputs, du=du, dv=dv, vth=vth, bias_mant=bias[0], bias_exp=BIAS_EXP, **extra)
    facts = {
        **layer_facts(
            grid, ideal, weight_int, bias, integer, neuron.threshold, scale, weight_exp, clip_quantile, weight_bits
        ),
        "decays_exact": decays_exact,
        "levels": levels,
    }
    return synapse_int, integer, facts


def threshold_snapping_quantizer(int_node: type[Node], int_fields: IntFields | None = None) -> NeuronQuantizer:
    """Return the layer quantizer (:func:`quantize_neuron_layer`) of a kind whose integer node is
    ``int_node`` (``int_fields`` default: :func:`shared_fields`)."""
    return partial(quantize_neuron_layer, int_node=int_node, int_fields=int_fields or shared_fields(int_node))
