"""Small float graphs for the Xylo tests: ``input -> Dense -> SoftResetLIF`` layers."""

from __future__ import annotations

import numpy as np

from latdeploy.ir import Dense, Graph, SoftResetLIF, SpikeInput


def float_mlp(
    sizes: list[int],
    rng: np.random.Generator,
    steps: int = 12,
    current_decay: float = 0.5,
    voltage_decay: float = 1 / 16,
    gain: float = 1.0,
) -> Graph:
    """Return ``input(sizes[0]) -> [Dense -> SoftResetLIF] * (len(sizes) - 1)`` with random weights."""
    nodes: list = [SpikeInput("input", (), neurons=sizes[0])]
    source = "input"
    for index, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:], strict=False)):
        weight = rng.standard_normal((fan_out, fan_in)).astype(np.float32) * gain / np.sqrt(fan_in)
        nodes.append(Dense(f"fc{index}", (source,), weight=weight))
        nodes.append(
            SoftResetLIF(
                f"lif{index}",
                (f"fc{index}",),
                threshold=1.0,
                current_decay=current_decay,
                voltage_decay=voltage_decay,
                bias=np.zeros(fan_out, np.float32),
            )
        )
        source = f"lif{index}"
    return Graph(tuple(nodes), {"timesteps": steps})


def latency_spikes(rng: np.random.Generator, batch: int, steps: int, channels: int) -> np.ndarray:
    """Return ``[batch, steps, channels]`` latency-coded spikes (one spike per channel at most)."""
    spikes = np.zeros((batch, steps, channels), np.uint8)
    times = rng.integers(0, steps + 3, (batch, channels))
    for b, c in np.argwhere(times < steps):
        spikes[b, times[b, c], c] = 1
    return spikes
