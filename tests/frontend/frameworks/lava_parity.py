"""The fixed-point-vs-Lava check every framework test ends with: a converted, quantized network run in
latdeploy's fixed-point simulator and in real Lava on the same spikes."""

from __future__ import annotations

import numpy as np

from latdeploy.ir import Graph
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.sim.trace import Trace


def assert_lava_equals_fixed(int_graph: Graph, spikes: np.ndarray, states: bool = False) -> tuple[Trace, Trace, int]:
    """Run ``int_graph`` on ``spikes`` in the fixed-point simulator and in real Lava; assert that every neuron
    layer fires in the simulator and that Lava's spikes equal its spikes in every slot (``states``: also
    ``v_pre``, ``u`` and ``v`` wherever Lava read them back).

    Returns:
        ``(fixed, lava, compared)``: the two traces and how many state arrays were compared.
    """
    from latdeploy.backends.lava import run_lava

    fixed = simulate_fixed(int_graph, spikes)
    lava = run_lava(int_graph, spikes, timeout=300).trace
    compared = 0
    for neuron in int_graph.neurons():
        ours, theirs = lava.layers[neuron.name], fixed.layers[neuron.name]
        assert theirs.spikes.any(), neuron.name
        assert int((ours.spikes != theirs.spikes).sum()) == 0, neuron.name
        if not states:
            continue
        for key in ("v_pre", "u", "v"):  # where Lava read the state back
            if getattr(ours, key) is not None and getattr(ours, key).size:
                assert np.array_equal(getattr(ours, key), getattr(theirs, key)), (neuron.name, key)
                compared += 1
    return fixed, lava, compared
