"""Map a model file onto a profile's cores without data, simulators or a backend run (``latdeploy map``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from latdeploy.flows.prepare import float_graph
from latdeploy.hw.mapper import map_graph
from latdeploy.hw.profile import DEFAULT_PROFILE, load_profile
from latdeploy.nn.checkpoint import load
from latdeploy.passes.fuse_synapses import fuse_synapse_chains
from latdeploy.report import schema_versions
from latdeploy.report.bundle import atomic_file, dump_json
from latdeploy.report.output_paths import check_file_output
from latdeploy.report.schema_versions import versioned


def map_model(
    model_path: Path,
    profile_name: str = DEFAULT_PROFILE,
    weight_bits: int | None = None,
    trust_pickle: bool = False,
    out: Path | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Map the checkpoint ``model_path`` onto ``profile_name``'s cores as ``latdeploy export`` does.

    The graph is the model's float graph (:func:`latdeploy.flows.prepare.float_graph`, the first stage
    of the pipeline that export runs) with back-to-back synapses fused (:mod:`latdeploy.passes.fuse_synapses`),
    the graph that quantization turns into integers; it is mapped before quantization, so no
    calibration data are needed. Quantization changes no shape, kernel or weight width
    (``weight_bits``, default the profile's); only dense weights that round to zero would free
    synapses and axons, so the result is what export maps or an upper bound of it.

    With ``out`` the mapping is also written there as JSON (atomically); ``out`` is checked first
    (:func:`latdeploy.report.output_paths.check_file_output`, ``force`` as there).

    Returns:
        The mapping (:func:`latdeploy.hw.mapper.map_graph`'s ``mapping.json``, with its ``schema_version``)
        with ``model`` added.

    Raises:
        OutputPathError: if ``out`` may not be written or writing it fails.
        ModelFormatError: for a bad model file.
        ProfileError: for a bad or energy-only profile.
        ResourceError: if the network does not fit the profile's cores or breaks a design rule.
        UnsupportedLayerError: for a node the mapper cannot place.
    """
    if out is not None:
        check_file_output(out, "mapping", [model_path, Path(profile_name)], force)
    model, metadata = load(model_path, trust_pickle=trust_pickle)
    graph = fuse_synapse_chains(float_graph(model, metadata))
    mapping = map_graph(graph, load_profile(profile_name), weight_bits=weight_bits)
    mapping = versioned({"model": str(model_path), **mapping}, schema_versions.MAPPING)
    if out is not None:
        with atomic_file(out) as temporary:
            temporary.write_text(dump_json(mapping))
    return mapping
