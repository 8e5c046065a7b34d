"""The per-layer quantizers of the neuron kinds and the weight grid, scale and facts they share.

Registry contract (a new node kind plugs in by registering):

* :func:`register_synapse_quantizer` ``(FloatType, SynapseQuantizer(weights, build,
  has_weight_exp))``: ``weights(node)`` gives the float weights that set the scale,
  ``build(node, weight_int, weight_exp, bits)`` the integer node (``weight_int`` on
  Lava's grid, same shape as ``weights(node)``).
* :func:`register_passthrough` ``(Type)``: nodes copied unchanged (input, delays).
* a neuron kind's layer quantizer (:data:`latdeploy.neurons.base.NeuronQuantizer`,
  ``fn(synapse, neuron, profile, clip_quantile, weight_bits) -> (int_synapse, int_neuron,
  facts)``): :func:`quantize_layer` for Lava's stock LIF (``v > vth << 6``),
  :func:`latdeploy.passes.quantize_neurons.quantize_neuron_layer` for the kinds comparing
  ``>=``. ``facts`` is a JSON-able dict (keys of
  :class:`~latdeploy.passes.quantize.LayerQuantization` land there, others in ``extra``).

Every width and range is read from the profile's :class:`~latdeploy.hw.arithmetic.Arithmetic`
(:attr:`Profile.arithmetic <latdeploy.hw.profile.Profile.arithmetic>`). The stock LIF's rule
(threshold ``vth = ceil(threshold * scale) - 1``, decays, bias) is described in
:mod:`latdeploy.passes.quantize`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from latdeploy.errors import QuantizationRangeError
from latdeploy.hw.arithmetic import LOIHI, Arithmetic
from latdeploy.ir import LIF, Dense, DenseInt, LIFInt, Node, SpikeInput
from latdeploy.registry import Registry

if TYPE_CHECKING:
    from latdeploy.hw.profile import Profile

BIAS_EXP = 6
"""The ``bias_exp`` every quantizer writes (bias in units of ``v >> 6``, as ``a << 6``)."""


@dataclass(frozen=True)
class SynapseQuantizer:
    """How to quantize one float synapse kind (see the module docstring)."""

    weights: Callable[[Node], np.ndarray]
    build: Callable[[Node, np.ndarray, int, int], Node]
    has_weight_exp: bool = True


SYNAPSE_QUANTIZERS: Registry[type[Node], SynapseQuantizer] = Registry("synapse quantizer")
PASSTHROUGH: Registry[type[Node], bool] = Registry("pass-through node")
PASSTHROUGH.add(SpikeInput, True)


def register_synapse_quantizer(node_type: type[Node], quantizer: SynapseQuantizer) -> None:
    """Register how float synapses of ``node_type`` are quantized."""
    SYNAPSE_QUANTIZERS.add(node_type, quantizer)


def register_passthrough(node_type: type[Node]) -> None:
    """Register ``node_type`` as copied unchanged into the integer graph."""
    PASSTHROUGH.add(node_type, True)


def synapse_quantizer(node: Node) -> SynapseQuantizer:
    """Return the registered quantizer of synapse ``node``.

    Raises:
        UnsupportedLayerError: if its type has none.
    """
    return SYNAPSE_QUANTIZERS.get(type(node), subject=f"node {node.name!r}")


register_synapse_quantizer(
    Dense,
    SynapseQuantizer(
        weights=lambda node: node.weight,
        build=lambda node, weight, weight_exp, bits: DenseInt(
            node.name, node.inputs, weight=weight, weight_exp=weight_exp, num_weight_bits=bits
        ),
    ),
)


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
    scale, as fine-tuning's committed weights need (:mod:`latdeploy.nn.integer_forward`).
    """
    return np.clip(np.round(ideal / step) * step, max(lowest, -highest), highest).astype(np.int32)


def bias_fields(bias: np.ndarray, scale: float, arithmetic: Arithmetic) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(bias_mant, bias_ideal)``: ``round(bias * scale)`` clipped to the arithmetic's bias
    mantissa, and unclipped."""
    bias_ideal = np.round(bias.astype(np.float64) * scale)
    return np.clip(bias_ideal, arithmetic.bias_mant_min, arithmetic.bias_mant_max).astype(np.int32), bias_ideal


def decay_fields(current_decay: float, voltage_decay: float, arithmetic: Arithmetic = LOIHI) -> tuple[int, int, bool]:
    """Return ``(du, dv, exact)``: Lava's decay fields and whether they represent the float decays exactly.

    ``du = round(current_decay * 2**decay_bits) - 1`` (Lava adds 1 back), ``dv = round(voltage_decay *
    2**decay_bits)``, both clipped to the decay register.
    """
    unity = arithmetic.decay_unity
    du = int(np.clip(round(current_decay * unity) - 1, 0, unity - 1))
    dv = int(np.clip(round(voltage_decay * unity), 0, unity - 1))
    exact = (du + 1) / unity == current_decay and dv / unity == voltage_decay
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

    arithmetic = profile.arithmetic
    vth_max = arithmetic.vth_max
    weight_exp = 0
    if not quantizer.has_weight_exp and lif.threshold * grid_scale > vth_max + 1:
        grid_scale = (vth_max + 1) / lif.threshold
        ideal = weight * grid_scale
        weight_int = snap_weights(ideal, step, lowest, highest)
    while quantizer.has_weight_exp and lif.threshold * grid_scale * 2.0**weight_exp > vth_max + 1:
        weight_exp -= 1
        if weight_exp < arithmetic.weight_exp_min:
            raise QuantizationRangeError(
                f"node {lif.name!r}: threshold {lif.threshold} x scale {grid_scale:.4g} exceeds the "
                f"{arithmetic.threshold_mantissa_bits}-bit threshold mantissa even at weight_exp "
                f"{arithmetic.weight_exp_min}; retrain with a smaller threshold-to-weight ratio"
            )
    scale = grid_scale * 2.0**weight_exp
    vth = max(math.ceil(lif.threshold * scale) - 1, 0)
    bias = bias_fields(lif.bias, scale, arithmetic)
    du, dv, _ = decay_fields(lif.current_decay, lif.voltage_decay, arithmetic)

    synapse = quantizer.build(dense, weight_int, weight_exp, weight_bits)
    neuron = LIFInt(lif.name, lif.inputs, du=du, dv=dv, vth=vth, bias_mant=bias[0], bias_exp=BIAS_EXP)
    facts = {
        **layer_facts(
            grid, ideal, weight_int, bias, neuron, lif.threshold, scale, weight_exp, clip_quantile, weight_bits
        ),
        **worst_case_input(synapse, arithmetic),
    }
    return synapse, neuron, facts


def worst_case_input(synapse: Node, arithmetic: Arithmetic) -> dict[str, Any]:
    """Return the largest ``|a|`` one step can bring (all inputs spiking on same-sign weights,
    after ``weight_exp``) and whether ``a << 6`` could overflow 24 bits."""
    weight = np.abs(np.asarray(synapse.weight, np.int64))
    per_step = weight.reshape(weight.shape[0], -1).sum(axis=1)
    weight_exp = int(getattr(synapse, "weight_exp", 0))
    per_step = per_step << weight_exp if weight_exp >= 0 else per_step >> -weight_exp
    worst = int(per_step.max())
    return {
        "worst_case_abs_input_per_step": worst,
        "worst_case_u_overflow_possible": bool((worst << arithmetic.activation_shift) >= arithmetic.state_limit),
    }
