"""PyTorch blocks for latency-coded SNNs: the "float model" that users train."""

from __future__ import annotations

from latdeploy.nn.decoders import FirstSpikeDecision, first_spike_decision
from latdeploy.nn.encoders import LatencyEncoder
from latdeploy.nn.network import ARCHITECTURES, LatencyMLP, build_model
from latdeploy.nn.neurons import LIF
from latdeploy.nn.surrogate import SURROGATES, spike_function

__all__ = [
    "ARCHITECTURES",
    "FirstSpikeDecision",
    "LIF",
    "LatencyEncoder",
    "LatencyMLP",
    "SURROGATES",
    "build_model",
    "first_spike_decision",
    "spike_function",
]
