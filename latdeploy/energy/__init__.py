"""Synaptic operations, neuron updates, spikes, and energy per hardware profile."""
