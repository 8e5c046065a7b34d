"""Operation counts and energy of an integer graph's run, per hardware profile.

SOP conventions (both are reported, the first one prices the energy):

* ``sops`` (non-zero synapses): one synaptic operation per input spike event per
  non-zero (quantized) weight in its fan-out, counted exactly from the run. This
  is what a sparse neuromorphic core does.
* ``sops_dense`` (dense fan-out): one per input spike event per synapse of its
  fan-out, zero weights included (Sinabs' "input spikes x fan-out" convention).

A spike event is a non-zero message (a graded payload counts once). A recurrent layer's own spikes
are input events of its recurrent synapses too (:mod:`latdeploy.ir.recurrent`), counted like any
synapse's and added to the layer's ``input_events``, ``sops`` and ``sops_dense`` (also reported alone
as ``recurrent_sops``): every spike but those of a sample's last step, which the loop never delivers. A neuron
update is counted for every neuron on every algorithmic step (Loihi updates all
compartments each step); it is "active" when the neuron received non-zero
synaptic input that step, "idle" otherwise. The ANN equivalent is one dense pass
of the network as the user trained it (:mod:`latdeploy.energy.ann`: counted on the
float graph, pools unfused), its MACs priced at the profile's ``ann_mac_j`` and at
an fp32 MAC in 45 nm CMOS (4.6 pJ, Horowitz ISSCC 2014), its pool additions at an
fp32 add (0.9 pJ, same source).

The per-operation energies are each profile's published figures, not measurements of
this network: :data:`ENERGY_CAVEAT` says so once in every report.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from latdeploy.energy.ann import ANN_CONVENTION, ann_operations
from latdeploy.errors import ProfileError, UnsupportedLayerError
from latdeploy.hw.profile import Profile
from latdeploy.ir import Conv2dInt, DelayDenseInt, DenseInt, Graph, Node, RecurrentDenseInt, XyloIAFInt
from latdeploy.registry import Registry
from latdeploy.sim.fixed import FIXED_KERNELS
from latdeploy.sim.fixed_conv import conv2d_int
from latdeploy.sim.trace import Trace

SOP_CONVENTION = (
    "sops: input spike events x non-zero (quantized) weights in each one's fan-out, counted exactly from the run; "
    "sops_dense: input spike events x full fan-out (zero weights included)"
)
NEURON_UPDATE_CONVENTION = "every neuron every algorithmic step; active = received non-zero synaptic input that step"
HOROWITZ_45NM = {
    "fp32_mac_j": 4.6e-12,
    "fp32_add_j": 0.9e-12,
    "source": "Horowitz, 'Computing's energy problem', ISSCC 2014: 45 nm CMOS, fp32 MAC 4.6 pJ, fp32 add 0.9 pJ",
}
ENERGY_CAVEAT = (
    "energies are per-operation figures from each profile's sources, not measurements of this run; "
    "Loihi's (Davies et al. 2018, Table 2) are pre-silicon estimates, 23.6 pJ per synaptic operation "
    "stated there as a minimum"
)
ENERGY_FIELDS = ("synaptic_op_j", "neuron_update_active_j", "neuron_update_idle_j", "spike_j")


def _matrix_sops(weight: np.ndarray, events: np.ndarray) -> tuple[int, int]:
    per_input = events.sum(axis=(0, 1)).astype(np.int64)
    return int((per_input * (weight != 0).sum(axis=0)).sum()), int(per_input.sum() * weight.shape[0])


def _conv_sops(node: Any, events: np.ndarray) -> tuple[int, int]:
    nonzero = conv2d_int(node.replace(weight=(node.weight != 0).astype(np.int32)), events)
    dense = conv2d_int(node.replace(weight=np.ones_like(node.weight)), events)
    return int(nonzero.astype(np.int64).sum()), int(dense.astype(np.int64).sum())


@dataclass(frozen=True)
class SynapseCounter:
    """How to count one integer synapse kind.

    ``sops(node, events)`` returns ``(non-zero-synapse SOPs, dense fan-out SOPs)`` summed
    over ``events`` ``[B, T, N]`` (0/1).
    """

    sops: Callable[[Any, np.ndarray], tuple[int, int]]


SYNAPSE_COUNTERS: Registry[type[Node], SynapseCounter] = Registry("energy counting rule")
"""How each integer synapse kind is counted, keyed by node class."""

MATRIX_COUNTER = SynapseCounter(lambda node, e: _matrix_sops(node.weight, e))
SYNAPSE_COUNTERS.add(DenseInt, MATRIX_COUNTER)
SYNAPSE_COUNTERS.add(DelayDenseInt, MATRIX_COUNTER)
SYNAPSE_COUNTERS.add(Conv2dInt, SynapseCounter(_conv_sops))
SYNAPSE_COUNTERS.add(XyloIAFInt, MATRIX_COUNTER)  # a Xylo layer carries its own synapses
SYNAPSE_COUNTERS.add(RecurrentDenseInt, MATRIX_COUNTER)


def _node_values(graph: Graph, input_spikes: np.ndarray, trace: Trace) -> dict[str, np.ndarray]:
    """Every node's output: spikes from ``trace`` for neurons, the fixed-point kernels for the rest."""
    values: dict[str, np.ndarray] = {}
    for node in graph.nodes:
        if node.name == graph.input.name:
            spikes = np.asarray(input_spikes)
            values[node.name] = spikes.reshape(*spikes.shape[:2], -1)
        elif node.kind == "neuron":
            values[node.name] = trace.layers[node.name].spikes
        else:
            if type(node) not in FIXED_KERNELS:
                raise UnsupportedLayerError(f"node {node.name!r}: {type(node).__name__} has no fixed-point kernel")
            values[node.name] = FIXED_KERNELS.get(type(node))(node, *(values[name] for name in node.inputs))
    return values


IDENTITY_SYNAPSE = "identity"
"""``per_layer[].synapse`` of a neuron layer the network input drives one to one (a ``.net``'s input
layer): each input event is one SOP to one neuron; no ANN MACs."""


def _feeding_synapse(graph: Graph, neuron: Node) -> Node | None:
    """Return the synapse that feeds ``neuron`` (``neuron`` itself for a layer that carries its own),
    or None for a neuron layer the network input drives one to one (a lava-dl ``.net``'s input layer).

    Raises:
        UnsupportedLayerError: if no synapse feeds it otherwise.
    """
    if type(neuron) in SYNAPSE_COUNTERS:
        return neuron  # a layer node that carries its own synapses (Xylo)
    node = graph.node(neuron.inputs[0])
    while node.kind not in ("synapse", "neuron", "input") and node.inputs:
        node = graph.node(node.inputs[0])
    if node.kind == "input" and node.size == neuron.size:
        return None
    if node.kind != "synapse":
        raise UnsupportedLayerError(f"node {neuron.name!r}: no synapse feeds this neuron layer")
    return node


def count_operations(
    graph: Graph, input_spikes: np.ndarray, trace: Trace, float_graph: Graph | None = None
) -> dict[str, Any]:
    """Count SOPs (both conventions), neuron updates and spikes of a run, per inference, beside the
    ANN-equivalent operations of the network as trained.

    Args:
        graph: the integer graph that ran.
        input_spikes: ``[B, T, ...]`` spikes fed to it.
        trace: a trace of the same samples (fixed point or Lava: only spikes are read; the
            synaptic inputs are recomputed from them with the fixed-point kernels).
        float_graph: the float graph ``graph`` was quantized from (before synapse fusion): the
            ANN equivalent is counted on it (:func:`latdeploy.energy.ann.ann_operations`). None for
            an integer file (``graph.int.onnx``, a lava-dl ``.net``), which has no float graph: the
            ANN equivalent is then counted on ``graph``'s own shapes (its synapses as they run,
            pools fused into the convolutions).

    Returns:
        ``{samples, timesteps, ann_graph, per_layer: [{name, synapse, input_events, sops, sops_dense,
        neuron_updates, neuron_updates_active, spikes, macs_ann, adds_ann}]}``, counts averaged
        over samples (``macs_ann``/``adds_ann``: one ANN pass; ``ann_graph``: ``"float"`` or
        ``"integer"``, the graph they were counted on).

    Raises:
        UnsupportedLayerError: for a synapse kind without a :data:`SYNAPSE_COUNTERS` or
            :data:`~latdeploy.energy.ann.ANN_COUNTERS` entry, or a spiking layer of ``graph``
            that ``float_graph`` lacks.
    """
    samples = input_spikes.shape[0]
    values = _node_values(graph, input_spikes, trace)
    ann = ann_operations(graph if float_graph is None else float_graph)
    per_layer = []
    for neuron in graph.neurons():
        synapse = _feeding_synapse(graph, neuron)
        if synapse is None:  # driven one to one by the input: one SOP per input event (fan-out 1)
            events = (values[neuron.inputs[0]] != 0).astype(np.uint8)
            sops = sops_dense = int(events.sum())
        else:
            counter = SYNAPSE_COUNTERS.get(type(synapse), subject=f"node {synapse.name!r}")
            events = (values[synapse.inputs[0]] != 0).astype(np.uint8)
            sops, sops_dense = counter.sops(synapse, events)
        current = (
            values[neuron.inputs[0]]
            if synapse is not neuron
            else events.astype(np.int64) @ (neuron.weight != 0).T.astype(np.int64)
        )
        loop = graph.loops().get(neuron.name)
        recurrent: dict[str, float] = {}
        if loop is not None:
            fed_back = (values[neuron.name][:, :-1] != 0).astype(np.uint8)  # the last step's spikes reach no step
            loop_sops, loop_dense = SYNAPSE_COUNTERS.get(type(loop), subject=f"node {loop.name!r}").sops(loop, fed_back)
            events_total = float(events.sum()) + float(fed_back.sum())
            sops, sops_dense = sops + loop_sops, sops_dense + loop_dense
            current = (current != 0) | (values[loop.name] != 0)  # active: input from either synapse
            recurrent = {"recurrent": loop.name, "recurrent_sops": loop_sops / samples}
        else:
            events_total = float(events.sum())
        if neuron.name not in ann:
            raise UnsupportedLayerError(
                f"layer {neuron.name!r}: the float graph has no such spiking layer to count ANN MACs on"
            )
        per_layer.append(
            {
                "name": neuron.name,
                "synapse": IDENTITY_SYNAPSE if synapse is None else synapse.name,
                "input_events": events_total / samples,
                "sops": sops / samples,
                "sops_dense": sops_dense / samples,
                "neuron_updates": float(current.shape[1] * neuron.size),
                "neuron_updates_active": float((current != 0).sum()) / samples,
                "spikes": float((values[neuron.name] != 0).sum()) / samples,
                "macs_ann": ann[neuron.name].macs,
                "adds_ann": ann[neuron.name].adds,
                **recurrent,
            }
        )
    ann_graph = "integer" if float_graph is None else "float"
    return {"samples": int(samples), "timesteps": graph.timesteps, "per_layer": per_layer, "ann_graph": ann_graph}


def _price(layer: dict[str, Any], energy: dict[str, float]) -> float:
    idle = layer["neuron_updates"] - layer["neuron_updates_active"]
    return (
        layer["sops"] * energy["synaptic_op_j"]
        + layer["neuron_updates_active"] * energy["neuron_update_active_j"]
        + idle * energy["neuron_update_idle_j"]
        + layer["spikes"] * energy["spike_j"]
    )


INTEGER_ANN_NOTE = (
    "; counted on the integer graph's shapes (an integer file has no float graph; pools are fused into the "
    "convolutions there, as the chip runs them)"
)


def energy_from_counts(counts: dict[str, Any], profile: Profile) -> dict[str, Any]:
    """Price ``counts`` (from :func:`count_operations`) with ``profile``'s per-operation energies.

    Returns:
        The content of ``energy.json``: totals per inference, ``per_layer`` with
        ``energy_j``, the ANN equivalent, the conventions and the energy sources.
        ``energy_j`` is ``energy_dynamic_j`` (the per-operation costs) plus ``energy_static_j``
        (static power x step time x steps; null, and not added, when the profile gives no
        figure). Per-operation fields a profile lacks count as 0 J and are listed in
        ``missing_energy_fields``.

    Raises:
        ProfileError: if a figure overflows to infinity (naming the profile's file).
    """
    section = profile.values.get("energy", {})
    energy = {name: float(section.get(name) or 0.0) for name in ENERGY_FIELDS}
    missing = [name for name in ENERGY_FIELDS if section.get(name) is None]
    power, step_time = section.get("static_power_w"), section.get("time_per_step_s")
    static = None if power is None or step_time is None else float(power) * float(step_time) * counts["timesteps"]
    per_layer = [{**layer, "energy_j": _price(layer, energy)} for layer in counts["per_layer"]]
    total = lambda key: float(sum(layer[key] for layer in per_layer))  # noqa: E731
    macs = int(sum(layer["macs_ann"] for layer in per_layer))
    adds = int(sum(layer["adds_ann"] for layer in per_layer))
    ann_mac_j = float(section.get("ann_mac_j", HOROWITZ_45NM["fp32_mac_j"]))
    add_j = HOROWITZ_45NM["fp32_add_j"]
    figures = [layer["energy_j"] for layer in per_layer] + [
        total("energy_j") + (static or 0.0),
        macs * ann_mac_j + adds * add_j,
    ]
    if not all(math.isfinite(figure) for figure in figures):
        raise ProfileError(
            f"{profile.path}: the energy per inference overflows (the profile's per-operation figures times "
            f"the counted operations exceed {sys.float_info.max:.3g} J); check the figures of section 'energy'"
        )
    return {
        "profile": profile.name,
        "per": "inference",
        "samples": counts["samples"],
        "timesteps": counts["timesteps"],
        "sop_convention": SOP_CONVENTION,
        "neuron_update_convention": NEURON_UPDATE_CONVENTION,
        "sops": total("sops"),
        "sops_dense": total("sops_dense"),
        "neuron_updates": total("neuron_updates"),
        "neuron_updates_active": total("neuron_updates_active"),
        "spikes": total("spikes"),
        "energy_dynamic_j": total("energy_j"),
        "energy_static_j": static,
        "energy_j": total("energy_j") + (static or 0.0),
        "per_layer": per_layer,
        "caveat": ENERGY_CAVEAT,
        "ann_equivalent": {
            "macs": macs,
            "adds": adds,
            "convention": ANN_CONVENTION + (INTEGER_ANN_NOTE if counts.get("ann_graph") == "integer" else ""),
            "energy_j": macs * ann_mac_j + adds * add_j,
            "mac_j": ann_mac_j,
            "add_j": add_j,
            "energy_45nm_j": macs * HOROWITZ_45NM["fp32_mac_j"] + adds * add_j,
            "snn_sops_45nm_j": total("sops") * HOROWITZ_45NM["fp32_add_j"],
            "source_45nm": HOROWITZ_45NM["source"],
        },
        "energy_per_operation_j": energy,
        "missing_energy_fields": missing,
        "energy_sources": dict(profile.sources.get("energy", {})),
    }


def energy_report(
    graph: Graph, input_spikes: np.ndarray, trace: Trace, profile: Profile, float_graph: Graph | None = None
) -> dict[str, Any]:
    """Return the content of ``energy.json`` for one profile (see :func:`count_operations` for the
    arguments, :func:`energy_from_counts` for the content).

    Raises:
        UnsupportedLayerError: for a synapse kind that cannot be counted.
    """
    return energy_from_counts(count_operations(graph, input_spikes, trace, float_graph), profile)


def energy_table(
    graph: Graph, input_spikes: np.ndarray, trace: Trace, profiles: list[Profile], float_graph: Graph | None = None
) -> dict[str, Any]:
    """Count once (:func:`count_operations`), price with every profile: ``{counts, profiles:
    [energy.json per profile]}``.

    Raises:
        UnsupportedLayerError: for a synapse kind that cannot be counted.
    """
    counts = count_operations(graph, input_spikes, trace, float_graph)
    return {"counts": counts, "profiles": [energy_from_counts(counts, profile) for profile in profiles]}
