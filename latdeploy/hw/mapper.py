"""Map a graph's neuron layers onto the cores of a hardware profile, checking its design rules.

Every neuron layer gets cores of its own (cores are not shared between layers). A
layer's neurons are taken in the placement order of its synapses (see
:mod:`latdeploy.hw.connectivity`) and each core receives the longest run that keeps

* ``neurons_per_core``: neurons on the core;
* ``fan_in_per_core``: distinct input axons, i.e. source neurons whose spikes reach
  the core through the layer's synapses (non-zero weights only);
* ``synaptic_memory_bytes_per_core``: stored synapses x weight bits / 8, where a
  profile with ``conv_weight_sharing`` stores a convolution kernel once per output
  channel on the core (a lower bound: index and delay bits are not counted);
* ``fan_out_per_core``: output axons, i.e. (neuron, destination core) pairs; layers
  are placed from the output backwards so that each layer's destinations are known.

The host-side input sends spikes from off chip and is not mapped. A network
needing more cores than ``cores_per_chip`` raises :class:`ResourceError` naming the
layer that needs most cores and the limit that bounds it. Axonal delays above
``max_axonal_delay`` and graded spikes wider than ``graded_spike_bits`` are design-rule
errors too.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from latdeploy.errors import ResourceError, UnsupportedLayerError
from latdeploy.hw.connectivity import Connectivity, connectivity_of
from latdeploy.hw.profile import Profile
from latdeploy.ir import Graph, Node

LIMITS = ("neurons_per_core", "fan_in_per_core", "synaptic_memory_bytes_per_core", "fan_out_per_core")
CONVENTION = (
    "one layer per core group; fan-in = distinct source neurons per core (non-zero weights); "
    "memory = stored synapses x weight bits / 8 (kernels once per channel with conv_weight_sharing); "
    "fan-out = (neuron, destination core) pairs; host input not mapped"
)


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

    def __init__(self, graph: Graph, neuron: Node, weight_bits: int) -> None:
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

    def footprint(self, outputs: np.ndarray, shared: bool) -> tuple[np.ndarray, int, int]:
        """Return (input-axon mask over the source, stored synapses, synaptic memory bytes) of ``outputs``."""
        current, synapses, bits = np.asarray(outputs), 0, 0
        for link, weight_bits in zip(self.links, self.bits, strict=True):
            stored = link.synapses(current, shared)
            synapses += stored
            bits += stored * weight_bits
            mask = link.inputs(current)
            current = np.flatnonzero(mask)
        return mask, synapses, math.ceil(bits / 8)


def _check_design_rules(graph: Graph, profile: Profile) -> None:
    max_delay = profile["resources.max_axonal_delay"]
    for node in graph.nodes:
        delay = int(node.algorithmic_delay()) if hasattr(node, "algorithmic_delay") else 0
        if delay > max_delay:
            raise ResourceError(
                f"node {node.name!r}: axonal delay of {delay} steps exceeds the profile's "
                f"max_axonal_delay {max_delay} ({profile.name})"
            )
    try:
        from latdeploy.ir.neurons_ext import message_bits
    except ImportError:  # graded neurons not available: every spike is binary
        return
    graded = profile["arithmetic.graded_spike_bits"]
    for node in graph.neurons():
        bits = message_bits(node)
        if bits > graded:
            raise ResourceError(
                f"node {node.name!r}: sends graded spikes of {bits} bits but profile {profile.name!r} "
                f"carries graded_spike_bits {graded}; use a profile with graded spikes (loihi2) or binary neurons"
            )


def map_graph(graph: Graph, profile: Profile) -> dict[str, Any]:
    """Place every neuron layer of ``graph`` on cores of ``profile``.

    Returns:
        The JSON-able mapping (``mapping.json``): ``profile``, ``cores_per_chip``,
        ``total_cores``, ``limits``, ``convention``, ``layers`` (per layer: name, the
        nodes feeding it, neurons, cores, first core, the limit that bounds its cores)
        and ``cores`` (per core: layer, neuron index ranges, neurons, fan-in, fan-out,
        synapses, synaptic memory bytes and utilisation of each limit).

    Raises:
        ResourceError: if one neuron alone breaks a per-core limit, the network
            needs more cores than ``cores_per_chip``, or a design rule (axonal delay,
            graded-spike width) is broken; the message names the layer and the limit.
        UnsupportedLayerError: for a node whose connectivity is unknown.
        ProfileError: for an energy-only profile.
    """
    limits = {name: profile[f"resources.{name}"] for name in LIMITS}
    shared = bool(profile["resources.conv_weight_sharing"])
    _check_design_rules(graph, profile)
    layers = [_Layer(graph, neuron, profile["arithmetic.weight_bits"]) for neuron in graph.neurons()]
    destinations: dict[str, np.ndarray] = {layer.neuron.name: np.zeros(layer.neuron.size, np.int64) for layer in layers}
    placed: dict[str, list[dict[str, Any]]] = {}
    bounds: dict[str, str] = {}
    for layer in reversed(layers):
        cores, binding = _place_layer(layer, destinations[layer.neuron.name], limits, shared)
        placed[layer.neuron.name], bounds[layer.neuron.name] = cores, binding
        if layer.source.name in destinations:
            for core in cores:
                destinations[layer.source.name] += core.pop("_mask")
        else:
            for core in cores:
                core.pop("_mask")
    total = sum(len(cores) for cores in placed.values())
    if total > profile["resources.cores_per_chip"]:
        worst = max(layers, key=lambda layer: len(placed[layer.neuron.name]))
        name = worst.neuron.name
        bound = f", bounded by {bounds[name]} {limits[bounds[name]]}" if bounds[name] in limits else ""
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
                "bounded_by": bounds[name],
            }
        )
        for core in placed[name]:
            core_rows.append({"core": len(core_rows), "layer": name, **core})
    for core in core_rows:
        core["fan_out"] = int(destinations[core["layer"]][_indices(core["neuron_ranges"])].sum())
        core["utilisation"] = _utilisation(core, limits)
    return {
        "profile": profile.name,
        "cores_per_chip": profile["resources.cores_per_chip"],
        "total_cores": total,
        "limits": {**limits, "conv_weight_sharing": shared},
        "convention": CONVENTION,
        "layers": layer_rows,
        "cores": core_rows,
    }


def _indices(ranges: list[list[int]]) -> np.ndarray:
    return np.concatenate([np.arange(start, stop) for start, stop in ranges]) if ranges else np.zeros(0, np.int64)


def _utilisation(core: dict[str, Any], limits: dict[str, int]) -> dict[str, float]:
    used = {
        "neurons_per_core": core["neurons"],
        "fan_in_per_core": core["fan_in"],
        "synaptic_memory_bytes_per_core": core["synaptic_memory_bytes"],
        "fan_out_per_core": core["fan_out"],
    }
    return {name: (round(value / limits[name], 6) if limits[name] else 0.0) for name, value in used.items()}


def _measure(
    layer: _Layer, chunk: np.ndarray, destinations: np.ndarray, limits: dict[str, int], shared: bool
) -> tuple[str | None, dict[str, Any]]:
    """Return (the first limit ``chunk`` on one core breaks or None, its usage and footprint)."""
    mask, synapses, memory = layer.footprint(chunk, shared)
    usage = {
        "neurons_per_core": int(chunk.size),
        "fan_in_per_core": int(mask.sum()),
        "synaptic_memory_bytes_per_core": memory,
        "fan_out_per_core": int(destinations[chunk].sum()),
    }
    broken = next((name for name in LIMITS if usage[name] > limits[name]), None)
    return broken, {"chunk": chunk, "mask": mask, "synapses": synapses, "usage": usage}


def _place_layer(
    layer: _Layer, destinations: np.ndarray, limits: dict[str, int], shared: bool
) -> tuple[list[dict[str, Any]], str]:
    """Return the cores of one layer in the candidate order needing fewest cores, and the limit that bounded them.

    Raises:
        ResourceError: if one neuron alone breaks a limit in every candidate order (the first order's error).
    """
    best, first_error = None, None
    for order in layer.orders:
        budget = len(best[0]) - 1 if best is not None else None
        try:
            placed = _place_in_order(layer, order, destinations, limits, shared, budget)
        except ResourceError as error:
            first_error = first_error or error
            continue
        if placed is not None:
            best = placed
    if best is None:
        raise first_error
    return best


def _largest_run(
    layer: _Layer, run: np.ndarray, high: int, guess: int, destinations: np.ndarray, limits: dict, shared: bool
) -> int:
    """Return the largest ``count <= high`` with ``run[:count]`` within every limit (``run[:1]`` is).

    Starts from ``guess`` (the previous core's count), so uniform layers need two measurements per core.
    """

    def fits(count: int) -> bool:
        return _measure(layer, run[:count], destinations, limits, shared)[0] is None

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


def _place_in_order(
    layer: _Layer,
    order: np.ndarray,
    destinations: np.ndarray,
    limits: dict[str, int],
    shared: bool,
    budget: int | None = None,
) -> tuple[list[dict[str, Any]], str] | None:
    """Return the cores of one layer taken in ``order`` (greedy longest runs) and the limit that
    bounded them, or None as soon as more than ``budget`` cores would be needed."""
    total = layer.neuron.size
    cores: list[dict[str, Any]] = []
    bounded_by: dict[str, int] = {}
    start, count = 0, limits["neurons_per_core"]
    while start < total:
        if budget is not None and len(cores) >= budget:
            return None
        run = order[start:]
        broken, facts = _measure(layer, run[:1], destinations, limits, shared)
        if broken is not None:
            raise ResourceError(
                f"layer {layer.neuron.name!r}: one neuron alone needs {broken} {facts['usage'][broken]}, "
                f"the profile allows {limits[broken]}"
            )
        high = min(limits["neurons_per_core"], total - start)
        count = _largest_run(layer, run, high, count, destinations, limits, shared)
        _, facts = _measure(layer, run[:count], destinations, limits, shared)
        if start + count < total:
            limit = "neurons_per_core" if count == limits["neurons_per_core"] else None
            limit = limit or _measure(layer, run[: count + 1], destinations, limits, shared)[0]
            bounded_by[limit] = bounded_by.get(limit, 0) + 1
        usage = facts["usage"]
        cores.append(
            {
                "neurons": count,
                "neuron_ranges": _ranges(facts["chunk"]),
                "fan_in": usage["fan_in_per_core"],
                "synapses": facts["synapses"],
                "synaptic_memory_bytes": usage["synaptic_memory_bytes_per_core"],
                "_mask": facts["mask"].astype(np.int64),
            }
        )
        start += count
    binding = max(bounded_by, key=lambda name: bounded_by[name]) if bounded_by else "none (fits one core)"
    return cores, binding
