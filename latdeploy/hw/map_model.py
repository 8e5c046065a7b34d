"""Map a model file onto a profile's cores without data, simulators or Lava (``latdeploy map``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.mapper import map_graph
from latdeploy.hw.profile import load_profile
from latdeploy.nn.checkpoint import load
from latdeploy.passes.fuse_synapses import fuse_synapse_chains


def map_model(
    model_path: Path, profile_name: str = "loihi2", weight_bits: int | None = None, trust_pickle: bool = False
) -> dict[str, Any]:
    """Map the checkpoint ``model_path`` onto ``profile_name``'s cores as ``latdeploy export`` does.

    The graph is the model's with back-to-back synapses fused (:mod:`latdeploy.passes.fuse_synapses`),
    the graph that quantization turns into integers; it is mapped before quantization, so no
    calibration data are needed. Quantization changes no shape, kernel or weight width
    (``weight_bits``, default the profile's); only dense weights that round to zero would free
    synapses and axons, so the result is what export maps or an upper bound of it.

    Returns:
        The mapping (:func:`latdeploy.hw.mapper.map_graph`'s ``mapping.json``) with ``model`` added.

    Raises:
        ModelFormatError: for a bad model file.
        ProfileError: for a bad or energy-only profile.
        ResourceError: if the network does not fit the profile's cores or breaks a design rule.
        UnsupportedLayerError: for a node the mapper cannot place.
    """
    model, metadata = load(model_path, trust_pickle=trust_pickle)
    graph = fuse_synapse_chains(graph_from_module(model, metadata))
    mapping = map_graph(graph, load_profile(profile_name), weight_bits=weight_bits)
    return {"model": str(model_path), **mapping}
