"""Range analysis of an integer graph: can the 24-bit ``u`` wrap or ``v`` saturate?

Two answers per neuron layer, both with counts:

* **static worst case** (no data): every input sends its largest payload on every
  step with the sign that pushes one way. With ``A+`` / ``A-`` the largest positive
  / negative synaptic input per step (sum of same-signed effective weights x payload,
  shifted by ``weight_exp``), ``r_u = (4096 - (du + 1)) / 4096`` and
  ``r_v = (4096 - dv) / 4096``, over ``T`` steps::

      |u| <= (A << 6) * (1 - r_u^T) / (1 - r_u)          (T * (A << 6) when r_u = 1)
      v_pre <= (vth << 6) + u+ + b+   (reset to zero: a neuron above threshold fires and resets)
      v_pre <= (u+ + b+) * (1 - r_v^T) / (1 - r_v)   (subtractive reset, which may leave v above it)
      -v <= (u- + b-) * (1 - r_v^T) / (1 - r_v)

  (the ``u`` limit is the worst over ``T`` steps). A neuron whose bound passes
  ``2^23`` *can* overflow; such layers are reported, as a warning, since the bound
  assumes every input fires together with aligned signs.
* **calibration**: the fixed-point simulator on data counts the slots where ``u``
  wrapped or ``v`` saturated and the largest ``|u|`` and ``|v_pre|`` seen. An overflow
  on data **does** happen: :func:`check_ranges` makes it an error unless allowed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latdeploy.errors import QuantizationRangeError
from latdeploy.hw.profile import Profile
from latdeploy.ir import Graph, Node
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.sim.fixed import simulate_fixed


def payload_max(source: Node) -> int:
    """Return the largest spike payload ``source`` sends (its graded ``levels``; 1 for binary spikes)."""
    return int(getattr(source, "levels_max", getattr(source, "levels", 1)))


def _input_bounds(synapse: Node, neurons: int, payload: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the largest positive and negative (as magnitudes) synaptic input per step of each neuron."""
    weight = np.asarray(synapse.weight).astype(np.int64)
    rows = weight.reshape(weight.shape[0], -1)
    positive, negative = np.clip(rows, 0, None).sum(axis=1), np.clip(-rows, 0, None).sum(axis=1)
    if rows.shape[0] != neurons:  # convolution: one row per output channel, channel-major neurons
        repeat = neurons // rows.shape[0]
        positive, negative = np.repeat(positive, repeat), np.repeat(negative, repeat)
    positive, negative = positive * payload, negative * payload
    exponent = int(getattr(synapse, "weight_exp", 0))
    if exponent >= 0:
        return positive << exponent, negative << exponent
    return positive >> -exponent, -((-negative) >> -exponent)


def _geometric(ratio: float, steps: int) -> float:
    return float(steps) if ratio >= 1.0 else (1.0 - ratio**steps) / (1.0 - ratio)


def layer_bounds(synapse: Node, neuron: Node, payload: int, steps: int, profile: Profile) -> dict[str, Any] | None:
    """Return the worst-case state bounds of one integer ``synapse -> neuron`` layer over ``steps``.

    Returns:
        ``{neurons, input_max_per_step, u_max_abs, v_pre_max, v_min, u_overflow_neurons,
        v_overflow_neurons}`` (ints), or None for a neuron of no registered kind (without Loihi's
        integer state) or a synapse without integer weights.
    """
    kind = NEURON_KINDS.of_node(type(neuron))
    if kind is None or kind.int_node is not type(neuron):
        return None
    weight = getattr(synapse, "weight", None)
    if not isinstance(weight, np.ndarray) or not np.issubdtype(weight.dtype, np.integer):
        return None
    arithmetic = profile.arithmetic
    limit, v_limit, unity = arithmetic.state_limit, arithmetic.v_max, arithmetic.decay_unity
    shift = arithmetic.activation_shift
    positive, negative = _input_bounds(synapse, neuron.size, payload)
    u_gain = _geometric((unity - (neuron.du + 1)) / unity, steps)
    v_gain = _geometric((unity - neuron.dv) / unity, steps)
    u_positive = np.floor((positive << shift) * u_gain).astype(np.int64)
    u_negative = np.floor((negative << shift) * u_gain).astype(np.int64)
    bias = neuron.bias_mant.astype(np.int64) << neuron.bias_exp
    v_pre = np.floor((u_positive + np.clip(bias, 0, None)) * v_gain).astype(np.int64)
    if kind.resets_to_zero(neuron):
        threshold = arithmetic.theta(neuron.vth)
        v_pre = np.minimum(v_pre, threshold + u_positive + np.clip(bias, 0, None))
    v_min = -np.floor((u_negative + np.clip(-bias, 0, None)) * v_gain).astype(np.int64)
    u_over = (u_positive > limit) | (u_negative >= limit)
    v_over = (v_pre > v_limit) | (v_min < -v_limit)
    return {
        "neurons": int(neuron.size),
        "input_max_per_step": int(max(positive.max(), negative.max())),
        "u_max_abs": int(max(u_positive.max(), u_negative.max())),
        "v_pre_max": int(v_pre.max()),
        "v_min": int(v_min.min()),
        "u_overflow_neurons": int(u_over.sum()),
        "v_overflow_neurons": int(v_over.sum()),
    }


def static_bounds(graph: Graph, profile: Profile) -> dict[str, dict[str, Any]]:
    """Return :func:`layer_bounds` of every integer neuron layer of ``graph`` fed by a weighted synapse.

    Returns:
        ``{layer name: bounds}``; layers :func:`layer_bounds` cannot bound are left out.
    """
    bounds: dict[str, dict[str, Any]] = {}
    for neuron in graph.neurons():
        synapse = graph.node(neuron.inputs[0])
        if synapse.kind != "synapse" or not synapse.inputs:
            continue  # no separate synapse (a Xylo layer carries its own; its states saturate, see calibration)
        payload = payload_max(graph.node(synapse.inputs[0]))
        bound = layer_bounds(synapse, neuron, payload, graph.timesteps, profile)
        if bound is not None:
            bounds[neuron.name] = bound
    return bounds


def calibrate_ranges(graph: Graph, spikes: np.ndarray) -> dict[str, dict[str, Any]]:
    """Run the fixed-point simulator on ``spikes`` ``[B, T, n_in]`` and return, per neuron layer,
    the largest ``|u|`` and ``|v_pre|`` seen and the overflow counts (``u_wraps``, ``v_saturations``)."""
    trace = simulate_fixed(graph, spikes)
    observed: dict[str, dict[str, Any]] = {}
    for name, layer in trace.layers.items():
        counts = trace.overflow.get(name, {})
        observed[name] = {
            "samples": int(np.asarray(spikes).shape[0]),
            "u_max_abs": int(np.abs(layer.u).max()) if layer.u is not None else None,
            "v_pre_max_abs": int(np.abs(layer.v_pre).max()),
            "u_wraps": int(counts.get("u_wraps", 0)),
            "v_saturations": int(counts.get("v_saturations", 0)),
            **({"u_saturations": int(counts["u_saturations"])} if "u_saturations" in counts else {}),
        }
    return observed


def range_report(graph: Graph, profile: Profile, spikes: np.ndarray) -> list[dict[str, Any]]:
    """Return one entry per neuron layer: ``{layer, static, calibration, can_overflow, overflows_on_data}``.

    ``can_overflow`` is the static verdict (some neuron's worst case passes 24 bits);
    ``overflows_on_data`` counts the wraps and saturations seen on ``spikes``.
    """
    static, observed = static_bounds(graph, profile), calibrate_ranges(graph, spikes)
    report = []
    for neuron in graph.neurons():
        name = neuron.name
        bound = static.get(name)
        seen = observed.get(name, {})
        report.append(
            {
                "layer": name,
                "static": bound,
                "calibration": seen,
                "can_overflow": bool(bound and (bound["u_overflow_neurons"] or bound["v_overflow_neurons"])),
                "overflows_on_data": int(
                    seen.get("u_wraps", 0) + seen.get("u_saturations", 0) + seen.get("v_saturations", 0)
                ),
                "state_bits": int(profile["arithmetic.state_bits"]),
            }
        )
    return report


def check_ranges(report: list[dict[str, Any]], allow_overflow: bool = False) -> list[str]:
    """Return the warnings of a :func:`range_report` (one line each).

    A layer that overflowed on data is an error unless ``allow_overflow``; a layer that
    only *can* overflow in the static worst case is always a warning.

    Raises:
        QuantizationRangeError: naming each layer that overflowed on data, with its counts.
    """
    warnings, errors = [], []
    for entry in report:
        seen, bound = entry["calibration"], entry["static"]
        if entry["overflows_on_data"]:
            saturated_u = f", {seen['u_saturations']} u saturations" if seen.get("u_saturations") else ""
            errors.append(
                f"layer {entry['layer']!r}: {seen['u_wraps']} u wraps{saturated_u} and {seen['v_saturations']} v "
                f"saturations at {entry.get('state_bits', 24)} bits in {seen['samples']} calibration samples"
            )
        if entry["can_overflow"]:
            warnings.append(
                f"warning: layer {entry['layer']!r} can overflow in the static worst case: "
                f"{bound['u_overflow_neurons']} of {bound['neurons']} neurons' u (bound {bound['u_max_abs']}) and "
                f"{bound['v_overflow_neurons']} neurons' v (bounds {bound['v_min']}..{bound['v_pre_max']}) pass 2^23"
            )
    if errors and not allow_overflow:
        raise QuantizationRangeError(
            "; ".join(errors) + "; lower the weight scale (--weight-bits, retrain) or pass --allow-overflow"
        )
    return warnings + [f"warning: {error} (allowed by --allow-overflow)" for error in errors if allow_overflow]
