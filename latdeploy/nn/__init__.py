"""PyTorch blocks for latency-coded SNNs: the "float model" that users train."""

from __future__ import annotations

from latdeploy.nn.decoders import (
    DECODERS,
    FirstSpikeDecision,
    aggregate_decision,
    aggregate_scores,
    decide,
    first_spike_decision,
)
from latdeploy.nn.encoders import LatencyEncoder, LearnableLatencyEncoder, SpatioTemporalCompression
from latdeploy.nn.network import ARCHITECTURES, LatencyMLP, SpikingConvNet, build_model
from latdeploy.nn.neurons import LIF, MultiThresholdLIF, TTFSNeuron
from latdeploy.nn.surrogate import SURROGATES, spike_function

__all__ = [
    "ARCHITECTURES",
    "DECODERS",
    "FirstSpikeDecision",
    "LIF",
    "LatencyEncoder",
    "LatencyMLP",
    "LearnableLatencyEncoder",
    "MultiThresholdLIF",
    "SURROGATES",
    "SpatioTemporalCompression",
    "SpikingConvNet",
    "TTFSNeuron",
    "aggregate_decision",
    "aggregate_scores",
    "build_model",
    "decide",
    "first_spike_decision",
    "spike_function",
]
