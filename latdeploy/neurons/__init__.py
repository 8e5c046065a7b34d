"""Neuron kinds: one module per kind, each declaring everything latdeploy needs of it.

A kind (:class:`~latdeploy.neurons.base.NeuronKind`) ties together its torch module, its float
and integer IR nodes, its threshold comparison, its firing/reset rule (written once against an
array namespace), its numba kernel mode, its quantizer and its Lava Process/ProcessModel, and
registers itself in :data:`~latdeploy.neurons.registry.NEURON_KINDS`; the simulators, the
quantizer, the torch converter and the Lava backend pick it up from there. ``docs/neurons.md``
says how to add one.

This module is the package's plugin import: it imports every kind module.
"""

from __future__ import annotations

# the float-order variants (decay_input_lif, norse_lif) import the kinds they share an integer node with first
from latdeploy.neurons import (  # noqa: F401  (register the kinds)
    decay_input_lif,
    delayed_reset_lif,
    lif,
    multi_threshold_lif,
    norse_lif,
    soft_reset_lif,
    ttfs,
)
