"""One sample's spike events per layer, float and hardware, for the HTML report's raster plots."""

from __future__ import annotations

from typing import Any

import numpy as np

from latdeploy.ir import Graph
from latdeploy.sim.trace import Trace


def raster_sample(report: dict[str, Any]) -> int:
    """The sample the HTML rasters show: the first float-vs-fixed divergence's, else 0."""
    divergence = report["float_vs_fixed"]["first_divergence"]
    return int(divergence["sample"]) if divergence else 0


def spike_rasters(
    graph: Graph, spikes: np.ndarray, float_trace: Trace, hardware: Trace, sample: int, hardware_source: str
) -> dict[str, Any]:
    """Return one sample's spike events per layer, float and hardware, for :mod:`latdeploy.report.html`.

    ``hardware`` must hold ``sample``; ``hardware_source`` names it (a backend's name, or ``"fixed"``).
    """

    def events(array: np.ndarray) -> list[list[int]]:
        return [[int(t), int(n)] for t, n in np.argwhere(array[sample] > 0)]

    layers = [{"name": graph.input.name, "neurons": int(spikes.shape[2]), "float": events(spikes), "hardware": None}]
    for name, layer in float_trace.layers.items():
        layers.append(
            {
                "name": name,
                "neurons": int(layer.spikes.shape[2]),
                "float": events(layer.spikes),
                "hardware": events(hardware.layers[name].spikes),
            }
        )
    return {"sample": sample, "timesteps": graph.timesteps, "hardware_source": hardware_source, "layers": layers}
