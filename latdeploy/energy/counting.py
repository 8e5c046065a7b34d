"""Operation counts and energy of an integer graph's run.

SOP convention (stated in every report): one synaptic operation per input spike
per non-zero weight in its fan-out, counted exactly from the run and the
quantized weights. A neuron update is counted for every neuron on every
algorithmic step (Loihi updates all compartments each step); it is "active" when
the neuron received non-zero synaptic input that step, "idle" otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latdeploy.errors import UnsupportedLayerError
from latdeploy.hw.profile import Profile
from latdeploy.ir import DenseInt, Graph
from latdeploy.sim.fixed import dense_int
from latdeploy.sim.trace import Trace

SOP_CONVENTION = "input spikes x non-zero fan-out of each spiking input (exact count, quantized weights)"


def energy_report(graph: Graph, input_spikes: np.ndarray, trace: Trace, profile: Profile) -> dict[str, Any]:
    """Return the content of ``energy.json``: counts and joules per inference.

    Args:
        graph: the integer graph that ran.
        input_spikes: ``[B, T, n_in]`` spikes fed to it.
        trace: its fixed-point trace (equal to Lava's when parity holds).
        profile: the per-operation energies.
    """
    samples = input_spikes.shape[0]
    spikes_of = {graph.input.name: np.asarray(input_spikes)}
    spikes_of.update({name: layer.spikes for name, layer in trace.layers.items()})
    energy = profile.values["energy"]
    per_layer = []
    for neuron in graph.neurons():
        synapse = graph.node(neuron.inputs[0])
        if not isinstance(synapse, DenseInt):
            raise UnsupportedLayerError(f"node {neuron.name!r}: energy counting needs a DenseInt input")
        incoming = spikes_of[synapse.inputs[0]]
        fan_out = (synapse.weight != 0).sum(axis=0)
        sops = int((incoming.sum(axis=(0, 1)) * fan_out).sum())
        active = int((dense_int(synapse, incoming) != 0).sum())
        updates = int(incoming.shape[0] * incoming.shape[1] * neuron.size)
        spikes = int(spikes_of[neuron.name].sum())
        joules = (
            sops * energy["synaptic_op_j"]
            + active * energy["neuron_update_active_j"]
            + (updates - active) * energy["neuron_update_idle_j"]
            + spikes * energy["spike_j"]
        )
        per_layer.append(
            {
                "name": neuron.name,
                "sops": sops / samples,
                "neuron_updates": updates / samples,
                "neuron_updates_active": active / samples,
                "spikes": spikes / samples,
                "energy_j": joules / samples,
                "macs_ann": int(synapse.weight.size),
            }
        )
    macs = sum(layer["macs_ann"] for layer in per_layer)
    total = lambda key: float(sum(layer[key] for layer in per_layer))  # noqa: E731
    return {
        "profile": profile.name,
        "per": "inference",
        "samples": int(samples),
        "timesteps": graph.timesteps,
        "sop_convention": SOP_CONVENTION,
        "sops": total("sops"),
        "neuron_updates": total("neuron_updates"),
        "neuron_updates_active": total("neuron_updates_active"),
        "spikes": total("spikes"),
        "energy_j": total("energy_j"),
        "per_layer": per_layer,
        "ann_equivalent": {"macs": macs, "energy_j": macs * energy["ann_mac_j"], "mac_j": energy["ann_mac_j"]},
        "energy_sources": profile.sources["energy"],
    }
