"""The pipeline every flow starts with: model -> float graph -> calibrate -> integer graph.

Written once here and called by export, verify, finetune, map, run (checkpoints, through
:func:`latdeploy.frontend.model_file.load_graph`) and the benchmark tools.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from latdeploy.data.registry import Split
from latdeploy.data.source import CALIBRATION_SAMPLES, model_data
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.profile import Profile
from latdeploy.ir import Graph
from latdeploy.nn.evaluation import model_inputs
from latdeploy.passes.base import run_passes
from latdeploy.passes.quantize import LayerQuantization, QuantizeForProfile

__all__ = [
    "CALIBRATION_SAMPLES",
    "PreparedGraph",
    "calibration_spikes",
    "encode",
    "float_graph",
    "prepare_integer_graph",
    "spikes_of",
]


@dataclass
class PreparedGraph:
    """The graphs of one model for one profile: ``float_graph`` (the torch model's IR),
    ``int_graph`` (quantized; an integer file's graph as it is, with no float graph), ``layers`` (the
    per-layer quantization report) and the
    ``calibration`` spikes ``[B, T, n_in]`` that chose the scales."""

    float_graph: Graph | None
    int_graph: Graph
    layers: list[LayerQuantization]
    calibration: np.ndarray


def encode(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """Encode data ``x`` (images ``[B, n]`` or event streams) with the model's host-side encoder.

    Returns:
        ``[B, T, n]`` uint8 spikes (graded payloads for STC currents), each step flattened in C order.
    """
    with torch.no_grad():
        spikes = model.encoder(model_inputs(x, model.config))
    return spikes.transpose(0, 1).flatten(2).numpy().astype(np.uint8)


def spikes_of(model: torch.nn.Module, split: Split, count: int | None = None) -> np.ndarray:
    """Return the spikes ``[B, T, n]`` (uint8) of the first ``count`` samples of ``split`` (None: all):
    encoded by the model's encoder, or taken as they are for already-encoded data."""
    x = split.x if count is None else split.x[:count]
    if split.encoded:
        return np.ascontiguousarray(x.reshape(len(x), x.shape[1], -1), dtype=np.uint8)
    return encode(model, x)


def float_graph(model: torch.nn.Module, metadata: dict[str, Any]) -> Graph:
    """Return the float IR of ``model`` (the pipeline's first stage; ``latdeploy map`` stops here).

    Raises:
        UnsupportedLayerError: for a module the torch frontend cannot convert.
    """
    return graph_from_module(model, metadata)


def calibration_spikes(model: torch.nn.Module, metadata: dict[str, Any]) -> np.ndarray:
    """Return the spikes of the model's default calibration data
    (:func:`latdeploy.data.source.model_data`: the first :data:`CALIBRATION_SAMPLES` of its training split)."""
    return spikes_of(model, model_data(model, metadata, labels=False).calibration)


def prepare_integer_graph(
    model: torch.nn.Module,
    metadata: dict[str, Any],
    profile: Profile,
    weight_bits: int | None = None,
    calibration: np.ndarray | None = None,
) -> PreparedGraph:
    """Convert ``model`` to its float graph and quantize it for ``profile``.

    ``weight_bits`` overrides the profile's weight bits; ``calibration`` (spikes ``[B, T, n_in]``)
    defaults to :func:`calibration_spikes`.

    Returns:
        The :class:`PreparedGraph`.

    Raises:
        UnsupportedLayerError: for a module or node the frontend or quantizer cannot handle.
        QuantizationRangeError: if a layer cannot be represented in the profile's arithmetic.
    """
    graph = float_graph(model, metadata)
    spikes = calibration_spikes(model, metadata) if calibration is None else calibration
    quantizer = QuantizeForProfile(profile, spikes, weight_bits)
    int_graph = run_passes(graph, [quantizer])
    return PreparedGraph(graph, int_graph, quantizer.layers, spikes)
