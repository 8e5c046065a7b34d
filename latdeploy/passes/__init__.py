"""Graph -> graph transformations. A pass never mutates its input graph.

This module is the package's plugin import: it imports the modules that register synapse
quantizers and pass-through nodes (neuron quantizers come with the neuron kinds,
:mod:`latdeploy.neurons`).
"""

from __future__ import annotations

from latdeploy.passes import quantize_conv  # noqa: F401  (registers the conv-net synapses and delays)
