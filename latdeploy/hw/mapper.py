"""Map a graph's neuron layers onto the cores of a hardware profile, checking its design rules.

Every neuron layer gets cores of its own (cores are not shared between layers). A
layer's neurons are taken in the placement orders of its synapses (see
:mod:`latdeploy.hw.connectivity`: dense index order; for convolutions position-major,
channel-major and square spatial tiles times channel groups); for each order every core
receives the longest run that keeps

* ``neurons_per_core``: neurons on the core;
* ``fan_in_per_core``: input axons. One per source neuron whose spikes reach the core
  through the layer's synapses (non-zero weights only), except that with
  ``conv_population_axon_slots`` > 0 a convolution's input arrives on population axons,
  one per input pixel, the channel travelling as the spike's population index (how
  nengo-loihi builds every convolution);
* ``synaptic_memory_bytes_per_core``: stored synapses x weight bits / 8, where a
  profile with ``conv_weight_sharing`` stores a convolution kernel once per output
  channel on the core (a lower bound: index and delay bits are not counted);
* ``fan_out_per_core``: output axon slots. One per (neuron, destination core) pair; to
  a destination reading population axons, ``conv_population_axon_slots`` per (input
  pixel, destination core) pair. Layers are placed from the output backwards so that
  each layer's destinations are known.

A recurrent connection (:mod:`latdeploy.ir.recurrent`) is one more synapse set of its layer: on each
core one input axon per own neuron reaching it and its non-zero synapses; the output axon slots
towards the layer's own cores are added once the layer is placed (an error if a core then breaks
``fan_out_per_core``).

The order needing fewest cores wins. The host-side input sends spikes from off chip
and is not mapped. A network needing more cores than ``cores_per_chip`` raises
:class:`ResourceError` naming the layer that needs most cores and the limit that bounds
it. A single neuron that alone breaks a limit is an error too: splitting one neuron's
inputs over several cores needs partial-sum relay neurons (an extra step and graded
spikes) that neither the simulators nor the Lava backend run. Axonal delays above
``max_axonal_delay`` and graded spikes wider than ``graded_spike_bits`` are design-rule
errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from latdeploy.errors import ResourceError, UnsupportedLayerError
from latdeploy.hw.arithmetic import XYLO
from latdeploy.hw.connectivity import Connectivity, connectivity_of
from latdeploy.hw.profile import Profile
from latdeploy.hw.xylo_rules import xylo_mapping
from latdeploy.ir import Graph, Node
from latdeploy.ir.neurons_ext import message_bits

LIMITS = ("neurons_per_core", "fan_in_per_core", "synaptic_memory_bytes_per_core", "fan_out_per_core")
CONVENTION = (
    "one layer per core group; fan-in = input axons per core: distinct source neurons (non-zero weights), "
    "or distinct input pixels for a convolution on population axons (conv_population_axon_slots > 0); "
    "memory = stored synapses x weight bits / 8 (kernels once per channel with conv_weight_sharing); "
    "fan-out = output axon slots: 1 per (neuron, destination core), conv_population_axon_slots per "
    "(input pixel, destination core) to a population-axon convolution; host input not mapped"
)
RELAY_NOTE = (
    "splitting one neuron's inputs across cores needs partial-sum relay neurons (an extra step and graded "
    "spikes) that latdeploy's simulators and Lava backend do not run"
)


@dataclass(frozen=True)
class _Rules:
    """The per-core limits and how synapses and axons are counted."""

    limits: dict[str, int]
    shared: bool
    population_slots: int


def _ranges(indices: np.ndarray) -> list[list[int]]:
    """Return sorted ``indices`` as half-open ``[start, stop)`` runs."""
    values = np.sort(np.asarray(indices))
    if values.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(values) != 1) + 1
    starts = np.concatenate(([0], breaks))
    stops = np.concatenate((breaks, [values.size]))
    return [[int(values[a]), int(values[b - 1]) + 1] for a, b in zip(starts, stops, strict=True)]


class _Layer:
    """A neuron node, the chain of non-neuron nodes feeding it, and its source neuron (or input) node."""

    def __init__(self, graph: Graph, neuron: Node, weight_bits: int, rules: _Rules) -> None:
        self.neuron, self.chain = neuron, []
        current = neuron
        while True:
            if len(current.inputs) != 1:
                raise UnsupportedLayerError(
                    f"node {current.name!r}: the mapper handles single-input feed-forward chains, "
                    f"it has {len(current.inputs)} inputs"
                )
            source = graph.node(current.inputs[0])
            if source.kind in ("neuron", "input"):
                break
            self.chain.append(source)
            current = source
        self.source = source
        inputs = [node.size for node in self.chain[1:]] + [source.size]
        if not self.chain:
            self.links: list[Connectivity] = [Connectivity(source.size, neuron.size)]
        else:
            self.links = [connectivity_of(node, n_in) for node, n_in in zip(self.chain, inputs, strict=True)]
        for node, link in zip(self.chain, self.links, strict=False):
            if link.n_out != node.size:
                raise UnsupportedLayerError(
                    f"node {node.name!r}: connectivity gives {link.n_out} outputs but the node has {node.size}"
                )
        self.bits = [int(getattr(node, "num_weight_bits", weight_bits)) for node in self.chain] or [weight_bits]
        self.orders = self.links[0].orders()
        self.shared = rules.shared
        reader = self.links[-1]
        self.source_pixels = reader.population_pixels() if rules.population_slots > 0 else 0
        self.population = self.source_pixels > 0
        loop = graph.loops().get(neuron.name)
        self.loop = None if loop is None else np.asarray(loop.weight) != 0
        self.loop_bits = int(getattr(loop, "num_weight_bits", weight_bits))

    def recurrent_inputs(self, outputs: np.ndarray) -> np.ndarray:
        """Return the mask over the layer's own neurons whose spikes reach ``outputs`` through its recurrent
        connection (non-zero weights; all False without one)."""
        if self.loop is None:
            return np.zeros(self.neuron.size, bool)
        return self.loop[np.asarray(outputs)].any(axis=0)

    def footprint(self, outputs: np.ndarray) -> tuple[np.ndarray, int, int, int]:
        """Return (input mask over the source, input axons, stored synapses, synaptic memory bytes) of ``outputs``;
        a recurrent connection adds one axon per own neuron reaching them and its non-zero synapses."""
        current, synapses, bits = np.asarray(outputs), 0, 0
        for link, weight_bits in zip(self.links, self.bits, strict=True):
            stored = link.synapses(current, self.shared)
            synapses += stored
            bits += stored * weight_bits
            mask = link.inputs(current)
            current = np.flatnonzero(mask)
        axons = self.links[-1].axons(mask, self.population)
        if self.loop is not None:
            stored = int(self.loop[np.asarray(outputs)].sum())
            synapses, bits = synapses + stored, bits + stored * self.loop_bits
            axons += int(self.recurrent_inputs(outputs).sum())
        return mask, axons, synapses, math.ceil(bits / 8)


class _FanOut:
    """The destination cores of one layer's neurons, as output axon slots of any set of them."""

    def __init__(self, size: int) -> None:
        self.per_neuron = np.zeros(size, np.int64)
        self.population: list[tuple[int, int, np.ndarray]] = []

    def add(self, layer: _Layer, masks: list[np.ndarray], slots: int) -> None:
        """Record the input masks of ``layer``'s cores (each a destination core of these neurons)."""
        if layer.population:
            self.population.append((slots, layer.source_pixels, np.stack(masks)))
        else:
            for mask in masks:
                self.per_neuron += mask

    def slots(self, neurons: np.ndarray) -> int:
        """Return the output axon slots a core holding ``neurons`` needs."""
        neurons = np.asarray(neurons)
        total = int(self.per_neuron[neurons].sum())
        for slots, pixels, masks in self.population:
            core, column = np.nonzero(masks[:, neurons])
            total += slots * int(np.unique(core * pixels + neurons[column] % pixels).size)
        return total


def _check_design_rules(graph: Graph, profile: Profile) -> None:
    max_delay = profile["resources.max_axonal_delay"]
    for node in graph.nodes:
        delay = int(node.algorithmic_delay()) if hasattr(node, "algorithmic_delay") else 0
        if delay > max_delay:
            raise ResourceError(
                f"node {node.name!r}: axonal delay of {delay} steps exceeds the profile's "
                f"max_axonal_delay {max_delay} ({profile.name})"
            )
    graded = profile["arithmetic.graded_spike_bits"]
    for node in graph.neurons():
        bits = message_bits(node)
        if bits > graded:
            raise ResourceError(
                f"node {node.name!r}: sends graded spikes of {bits} bits but profile {profile.name!r} "
                f"carries graded_spike_bits {graded}; use a profile with graded spikes (loihi2) or binary neurons"
            )


def map_graph(graph: Graph, profile: Profile, weight_bits: int | None = None) -> dict[str, Any]:
    """Place every neuron layer of ``graph`` on cores of ``profile``.

    ``weight_bits`` (default: the profile's) sizes the synapses of nodes that do not carry
    their own ``num_weight_bits`` (float graphs).

    Returns:
        The JSON-able mapping (``mapping.json``): ``profile``, ``cores_per_chip``,
        ``total_cores``, ``limits``, ``convention``, ``layers`` (per layer: name, the
        nodes feeding it, neurons, cores, first core, the limit that bounds its cores,
        its placement order) and ``cores`` (per core: layer, neuron index ranges,
        neurons, fan-in, fan-out, synapses, synaptic memory bytes and utilisation of
        each limit).

    A profile with Xylo's arithmetic maps onto one Xylo core instead
    (:func:`latdeploy.hw.xylo_rules.xylo_mapping`).

    Raises:
        ResourceError: if one neuron alone breaks a per-core limit, the network
            needs more cores than ``cores_per_chip``, or a design rule (axonal delay,
            graded-spike width) is broken; the message names the layer and the limit.
        UnsupportedLayerError: for a node whose connectivity is unknown.
        ProfileError: for an energy-only profile.
    """
    if profile.arithmetic.decay_rule == XYLO.decay_rule:
        return xylo_mapping(graph, profile.name)
    rules = _Rules(
        {name: profile[f"resources.{name}"] for name in LIMITS},
        bool(profile["resources.conv_weight_sharing"]),
        int(profile["resources.conv_population_axon_slots"]),
    )
    _check_design_rules(graph, profile)
    bits = weight_bits or profile["arithmetic.weight_bits"]
    layers = [_Layer(graph, neuron, bits, rules) for neuron in graph.neurons()]
    fan_out = {layer.neuron.name: _FanOut(layer.neuron.size) for layer in layers}
    placed: dict[str, list[dict[str, Any]]] = {}
    facts: dict[str, tuple[str, str]] = {}
    for layer in reversed(layers):
        cores, binding, order = _place_layer(layer, fan_out[layer.neuron.name], rules)
        if layer.loop is not None:
            _add_recurrent_fan_out(layer, cores, rules)
        placed[layer.neuron.name], facts[layer.neuron.name] = cores, (binding, order)
        masks = [core.pop("_mask") for core in cores]
        if layer.source.name in fan_out:
            fan_out[layer.source.name].add(layer, masks, rules.population_slots)
    total = sum(len(cores) for cores in placed.values())
    limits = rules.limits
    if total > profile["resources.cores_per_chip"]:
        worst = max(layers, key=lambda layer: len(placed[layer.neuron.name]))
        name, binding = worst.neuron.name, facts[worst.neuron.name][0]
        bound = f", bounded by {binding} {limits[binding]}" if binding in limits else ""
        raise ResourceError(
            f"network needs {total} cores, profile {profile.name!r} has {profile['resources.cores_per_chip']} "
            f"(cores_per_chip); layer {name!r} alone needs {len(placed[name])} of them{bound}"
        )
    core_rows: list[dict[str, Any]] = []
    layer_rows: list[dict[str, Any]] = []
    for layer in layers:
        name = layer.neuron.name
        layer_rows.append(
            {
                "name": name,
                "fed_by": [node.name for node in reversed(layer.chain)],
                "source": layer.source.name,
                "neurons": layer.neuron.size,
                "cores": len(placed[name]),
                "first_core": len(core_rows),
                "bounded_by": facts[name][0],
                "order": facts[name][1],
                "population_axons": layer.population,
            }
        )
        for core in placed[name]:
            core_rows.append({"core": len(core_rows), "layer": name, **core})
    for core in core_rows:
        core["utilisation"] = _utilisation(core, limits)
    return {
        "profile": profile.name,
        "cores_per_chip": profile["resources.cores_per_chip"],
        "total_cores": total,
        "limits": {**limits, "conv_weight_sharing": rules.shared, "conv_population_axon_slots": rules.population_slots},
        "convention": CONVENTION,
        "layers": layer_rows,
        "cores": core_rows,
    }


def _add_recurrent_fan_out(layer: _Layer, cores: list[dict[str, Any]], rules: _Rules) -> None:
    """Add to each core of a recurrent layer the output axon slots its neurons need towards the layer's own
    cores (1 per (neuron, own core its spikes reach)), known only once the layer is placed.

    Raises:
        ResourceError: naming the layer and core, if a core then exceeds ``fan_out_per_core``.
    """
    reach = [layer.recurrent_inputs(np.concatenate([np.arange(a, b) for a, b in core["neuron_ranges"]]))
             for core in cores]  # fmt: skip
    destinations = np.sum(reach, axis=0)  # own cores each neuron's spikes reach
    limit = rules.limits["fan_out_per_core"]
    for index, core in enumerate(cores):
        neurons = np.concatenate([np.arange(a, b) for a, b in core["neuron_ranges"]])
        core["fan_out"] += int(destinations[neurons].sum())
        if core["fan_out"] > limit:
            raise ResourceError(
                f"layer {layer.neuron.name!r}: with its recurrent connection core {index} of the layer needs "
                f"fan_out_per_core {core['fan_out']}, the profile allows {limit}; the mapper does not re-place a "
                "recurrent layer for its own fan-out: use fewer or sparser recurrent weights"
            )


def _utilisation(core: dict[str, Any], limits: dict[str, int]) -> dict[str, float]:
    used = {
        "neurons_per_core": core["neurons"],
        "fan_in_per_core": core["fan_in"],
        "synaptic_memory_bytes_per_core": core["synaptic_memory_bytes"],
        "fan_out_per_core": core["fan_out"],
    }
    return {name: (round(value / limits[name], 6) if limits[name] else 0.0) for name, value in used.items()}


def _measure(layer: _Layer, chunk: np.ndarray, fan_out: _FanOut, rules: _Rules) -> tuple[str | None, dict[str, Any]]:
    """Return (the first limit ``chunk`` on one core breaks or None, its usage and footprint)."""
    mask, axons, synapses, memory = layer.footprint(chunk)
    usage = {
        "neurons_per_core": int(chunk.size),
        "fan_in_per_core": axons,
        "synaptic_memory_bytes_per_core": memory,
        "fan_out_per_core": fan_out.slots(chunk),
    }
    broken = next((name for name in LIMITS if usage[name] > rules.limits[name]), None)
    return broken, {"chunk": chunk, "mask": mask, "synapses": synapses, "usage": usage}


def _place_layer(layer: _Layer, fan_out: _FanOut, rules: _Rules) -> tuple[list[dict[str, Any]], str, str]:
    """Return the cores of one layer in the candidate order needing fewest cores, the limit that
    bounded them and the order's name.

    Raises:
        ResourceError: if one neuron alone breaks a limit (the first order's error).
    """
    best, first_error = None, None
    for index, order in enumerate(layer.orders):
        budget = len(best[0]) - 1 if best is not None else None
        try:
            placed = _place_in_order(layer, order, fan_out, rules, budget)
        except ResourceError as error:
            first_error = first_error or error
            continue
        if placed is not None:
            best = (*placed, layer.links[0].order_names()[index])
    if best is None:
        raise first_error
    return best


def _largest_run(layer: _Layer, run: np.ndarray, high: int, guess: int, fan_out: _FanOut, rules: _Rules) -> int:
    """Return the largest ``count <= high`` with ``run[:count]`` within every limit (``run[:1]`` is).

    Starts from ``guess`` (the previous core's count), so uniform layers need two measurements per core.
    """

    def fits(count: int) -> bool:
        return _measure(layer, run[:count], fan_out, rules)[0] is None

    low = 1
    guess = min(max(guess, 1), high)
    if fits(guess):
        if guess == high or not fits(guess + 1):
            return guess
        low = guess + 1
    else:
        high = guess - 1
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _one_neuron_error(layer: _Layer, broken: str, usage: dict[str, int], rules: _Rules) -> ResourceError:
    message = (
        f"layer {layer.neuron.name!r}: one neuron alone needs {broken} {usage[broken]}, "
        f"the profile allows {rules.limits[broken]}"
    )
    if broken == "fan_in_per_core":
        message += f" (input axons of one neuron's fan-in); {RELAY_NOTE}"
    return ResourceError(message)


def _place_in_order(
    layer: _Layer, order: np.ndarray, fan_out: _FanOut, rules: _Rules, budget: int | None = None
) -> tuple[list[dict[str, Any]], str] | None:
    """Return the cores of one layer taken in ``order`` (greedy longest runs) and the limit that
    bounded them, or None as soon as more than ``budget`` cores would be needed."""
    total, limits = layer.neuron.size, rules.limits
    cores: list[dict[str, Any]] = []
    bounded_by: dict[str, int] = {}
    start, count = 0, limits["neurons_per_core"]
    while start < total:
        if budget is not None and len(cores) >= budget:
            return None
        run = order[start:]
        broken, facts = _measure(layer, run[:1], fan_out, rules)
        if broken is not None:
            raise _one_neuron_error(layer, broken, facts["usage"], rules)
        high = min(limits["neurons_per_core"], total - start)
        count = _largest_run(layer, run, high, count, fan_out, rules)
        _, facts = _measure(layer, run[:count], fan_out, rules)
        if start + count < total:
            limit = "neurons_per_core" if count == limits["neurons_per_core"] else None
            limit = limit or _measure(layer, run[: count + 1], fan_out, rules)[0]
            bounded_by[limit] = bounded_by.get(limit, 0) + 1
        usage = facts["usage"]
        cores.append(
            {
                "neurons": count,
                "neuron_ranges": _ranges(facts["chunk"]),
                "fan_in": usage["fan_in_per_core"],
                "fan_out": usage["fan_out_per_core"],
                "synapses": facts["synapses"],
                "synaptic_memory_bytes": usage["synaptic_memory_bytes_per_core"],
                "_mask": facts["mask"],
            }
        )
        start += count
    binding = max(bounded_by, key=lambda name: bounded_by[name]) if bounded_by else "none (fits one core)"
    return cores, binding
