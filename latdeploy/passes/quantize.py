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
exported ones. A recurrent layer's recurrent weights share its scale and ``weight_exp``
(:mod:`latdeploy.passes.quantize_recurrent`). Back-to-back synapses (a pool feeding a conv, ...)
are first merged into one (:mod:`latdeploy.passes.fuse_synapses`).

Registry contract: synapse quantizers and pass-through nodes register in
:mod:`latdeploy.passes.quantize_layers`; a neuron's layer quantizer is its kind's
(:class:`latdeploy.neurons.base.NeuronKind`), kept in :data:`NEURON_QUANTIZERS` by float node
type as kinds are registered. Every width comes from the profile's
:class:`~latdeploy.hw.arithmetic.Arithmetic`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from functools import partial
from typing import Any

import numpy as np

from latdeploy.errors import QuantizationRangeError, UnsupportedLayerError
from latdeploy.hw.arithmetic import XYLO
from latdeploy.hw.profile import Profile
from latdeploy.ir import Graph, Node, SpikeInput
from latdeploy.ir.recurrent import RECURRENT_KIND
from latdeploy.neurons.base import NeuronKind, NeuronQuantizer
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.passes.base import GraphPass, register_pass
from latdeploy.passes.fuse_synapses import fuse_synapse_chains
from latdeploy.passes.quantize_layers import PASSTHROUGH, synapse_quantizer, worst_case_input
from latdeploy.passes.quantize_recurrent import joint_synapse, split_synapse
from latdeploy.passes.quantize_xylo import quantize_for_xylo
from latdeploy.passes.range_analysis import layer_bounds, payload_max
from latdeploy.registry import Registry
from latdeploy.sim.fixed import FIXED_KERNELS
from latdeploy.sim.fixed_recurrent import recurrent_neuron_int
from latdeploy.sim.float_sim import simulate_float

CLIP_QUANTILES = (1.0, 0.9999, 0.999, 0.995, 0.99)
GRID_TOLERANCE = 1e-5  # relative; float32 weights on the grid are within 6e-8 of it

NEURON_QUANTIZERS: Registry[type[Node], NeuronQuantizer] = Registry("quantizer")
"""The layer quantizer of every float neuron node type (each neuron kind's ``quantizer``)."""
NEURON_KINDS.subscribe(
    lambda kind: NEURON_QUANTIZERS.add(kind.float_node, kind.quantizer),
    lambda kind: NEURON_QUANTIZERS.remove(kind.float_node),
)


def neuron_quantizer(neuron: Node) -> NeuronQuantizer:
    """Return the layer quantizer of float neuron ``neuron``.

    Raises:
        UnsupportedLayerError: ``node '<name>': no quantizer for <Type>; supported: ...``.
    """
    return NEURON_QUANTIZERS.get(type(neuron), subject=f"node {neuron.name!r}")


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


def quantize(
    graph: Graph, profile: Profile, calibration_spikes: np.ndarray, weight_bits: int | None = None
) -> tuple[Graph, list[LayerQuantization]]:
    """Return the integer graph for ``profile`` and a per-layer report.

    ``calibration_spikes`` (``[B, T, n_in]``, training data) choose each layer's
    clipping point as the module docstring says. The input graph is not changed. A profile with
    Xylo's arithmetic is quantized by :func:`latdeploy.passes.quantize_xylo.quantize_for_xylo`.

    Raises:
        UnsupportedLayerError: if a neuron has no quantizer, its input is not a
            quantizable synapse, or a node is neither a layer part nor pass-through.
        QuantizationRangeError: if a layer cannot be represented (see the kind's quantizer, e.g.
            :func:`latdeploy.passes.quantize_layers.quantize_layer`).
    """
    bits = weight_bits or profile["arithmetic.weight_bits"]
    if not 1 <= bits <= profile["arithmetic.weight_bits"]:
        raise QuantizationRangeError(f"weight bits {bits} outside 1..{profile['arithmetic.weight_bits']}")
    known = {f.name for f in fields(LayerQuantization)}
    if profile.arithmetic.decay_rule == XYLO.decay_rule:
        int_graph, facts = quantize_for_xylo(graph, calibration_spikes, bits)
        layers = [
            LayerQuantization(
                **{k: v for k, v in f.items() if k in known}, extra={k: v for k, v in f.items() if k not in known}
            )
            for f in facts
        ]
        summary = [asdict(layer) for layer in layers]
        return int_graph.replace_nodes(list(int_graph.nodes), profile=profile.name, quantization=summary), layers
    reference = simulate_float(graph, calibration_spikes)
    graph = fuse_synapse_chains(graph)
    synapses = {graph.node(n.inputs[0]).name for n in graph.neurons() if n.inputs}
    spikes_of: dict[str, np.ndarray] = {}
    nodes: list = []
    report: list[LayerQuantization] = []
    for node in graph.nodes:
        if isinstance(node, SpikeInput):
            spikes = np.asarray(calibration_spikes, np.uint8)
            spikes_of[node.name] = spikes.reshape(*spikes.shape[:2], -1)
            nodes.append(node)
        elif type(node) in PASSTHROUGH:
            kernel = FIXED_KERNELS.get(type(node), subject=f"node {node.name!r}")
            spikes_of[node.name] = kernel(node, *(spikes_of[i] for i in node.inputs))
            nodes.append(node)
        elif node.kind == "neuron":
            synapse_int, neuron_int, facts, loop_int = _calibrate(graph, node, profile, bits, spikes_of, reference)
            spikes_of[node.name] = reference.layers[node.name].spikes
            nodes.extend([synapse_int, neuron_int, *([loop_int] if loop_int is not None else [])])
            extra = {k: v for k, v in facts.items() if k not in known}
            report.append(
                LayerQuantization(
                    synapse=synapse_int.name,
                    neuron=node.name,
                    extra=extra,
                    **{k: v for k, v in facts.items() if k in known},
                )
            )
        elif node.kind == RECURRENT_KIND:
            continue  # quantized with its layer
        elif node.name not in synapses:
            raise UnsupportedLayerError(
                f"node {node.name!r}: {type(node).__name__} cannot be quantized (it is neither a neuron, "
                "the synapse feeding one, nor a pass-through node)"
            )
    summary = [asdict(layer) for layer in report]
    return graph.replace_nodes(nodes, profile=profile.name, quantization=summary), report


@register_pass
class QuantizeForProfile(GraphPass):
    """The float graph to the integer graph of ``profile`` (:func:`quantize`, calibrated on ``calibration_spikes``).

    After :meth:`apply`, :attr:`layers` holds the per-layer report of the last graph quantized.
    """

    def __init__(self, profile: Profile, calibration_spikes: np.ndarray, weight_bits: int | None = None) -> None:
        self.profile, self.calibration_spikes, self.weight_bits = profile, calibration_spikes, weight_bits
        self.layers: list[LayerQuantization] = []

    def apply(self, graph: Graph) -> Graph:
        """Return the integer graph (see :func:`quantize` for what is raised)."""
        int_graph, self.layers = quantize(graph, self.profile, self.calibration_spikes, self.weight_bits)
        return int_graph


def on_grid(synapse: Node, synapse_int: Node, scale: float) -> bool:
    """Return True when ``synapse``'s float weights are ``synapse_int``'s integers divided by
    ``scale / 2**weight_exp``, up to float32 rounding (a fine-tuned layer)."""
    weight = np.asarray(synapse_quantizer(synapse).weights(synapse), np.float64)
    units = weight * scale / 2.0 ** int(getattr(synapse_int, "weight_exp", 0))
    integer = np.asarray(synapse_int.weight, np.float64)
    return bool(np.abs(units - integer).max() <= GRID_TOLERANCE * max(1.0, float(np.abs(integer).max())))


def _calibrate(
    graph: Graph, neuron: Node, profile: Profile, bits: int, spikes_of: dict[str, np.ndarray], reference: Any
) -> tuple[Node, Node, dict[str, Any], Node | None]:
    """Quantize ``neuron`` and its synapse (and recurrent node, sharing their scale:
    :mod:`latdeploy.passes.quantize_recurrent`) at each clip quantile; keep the best-agreeing one.

    Returns:
        ``(synapse_int, neuron_int, facts, recurrent_int or None)``.
    """
    quantizer = neuron_quantizer(neuron)
    synapse = graph.node(neuron.inputs[0])
    if synapse.kind != "synapse" or len(neuron.inputs) != 1:
        raise UnsupportedLayerError(
            f"node {neuron.name!r}: a neuron must take exactly one synapse as input, not {type(synapse).__name__}"
        )
    loop = graph.loops().get(neuron.name)
    layer_synapse = synapse if loop is None else joint_synapse(synapse, loop)
    inputs = [spikes_of[name] for name in synapse.inputs]
    target = reference.layers[neuron.name].spikes
    best = None
    for quantile in CLIP_QUANTILES:
        joint_int, neuron_int, facts = quantizer(layer_synapse, neuron, profile, quantile, bits)
        synapse_int, loop_int = (joint_int, None) if loop is None else split_synapse(joint_int, synapse, loop)
        current = FIXED_KERNELS.get(type(synapse_int))(synapse_int, *inputs)
        kernel = (
            FIXED_KERNELS.get(type(neuron_int)) if loop_int is None else partial(recurrent_neuron_int, loop=loop_int)
        )
        trace, overflow = kernel(neuron_int, current)
        agreement = float((trace.spikes == target).mean())
        if best is None or agreement > best[3]:
            best = (synapse_int, neuron_int, facts, agreement, trace, overflow, joint_int, loop_int)
        if quantile == 1.0 and on_grid(layer_synapse, joint_int, float(facts["scale"])):
            break
    synapse_int, neuron_int, facts, agreement, trace, overflow, joint_int, loop_int = best
    kind: NeuronKind = NEURON_KINDS.kind_of(neuron_int)
    firing_threshold = kind.firing_vth(neuron_int.vth)
    scaled = float(facts["threshold_scaled"])
    payload = payload_max(graph.node(synapse.inputs[0])) if synapse.inputs else 1
    if loop_int is not None:  # the joint weights also carry the layer's own payloads
        payload = max(payload, payload_max(neuron))
    facts = {
        **worst_case_input(joint_int, profile.arithmetic),
        **facts,
        "calibration_spike_agreement": agreement,
        "calibration_max_abs_v_pre": int(np.abs(trace.v_pre).max()),
        "calibration_overflows": overflow,
        "threshold_rounding_error": firing_threshold - scaled,
        "threshold_relative_error": (firing_threshold - scaled) / scaled if scaled else 0.0,
        "state_range": layer_bounds(joint_int, neuron_int, payload, graph.timesteps, profile),
        "scale_granularity": "per-layer",
        "per_channel_scales_available": bool(profile["quantization.per_channel_scales"]),
        **({} if loop_int is None else {"recurrent": loop_int.name, "recurrent_weights_share_scale": True}),
    }
    return synapse_int, neuron_int, facts, loop_int
