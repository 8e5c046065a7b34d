"""map_model maps a checkpoint as export does (same cores as the quantized graph), without data."""

from __future__ import annotations

import pytest
import yaml

from latdeploy.data import DIGITS, load_split
from latdeploy.errors import ResourceError
from latdeploy.flows.map import map_model
from latdeploy.flows.prepare import encode
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.mapper import map_graph
from latdeploy.hw.profile import load_profile
from latdeploy.nn import build_model
from latdeploy.nn.checkpoint import save
from latdeploy.passes.quantize import quantize

LAYERS = [
    {"type": "conv", "channels": 6, "kernel": 3, "padding": 1},
    {"type": "neuron"},
    {"type": "avgpool", "kernel": 2},
    {"type": "conv", "channels": 8, "kernel": 3, "padding": 1},
    {"type": "neuron"},
    {"type": "flatten"},
    {"type": "linear", "features": 10},
    {"type": "neuron"},
]


def _checkpoint(tmp_path):
    config = {"arch": "convnet", "input_shape": [1, 8, 8], "timesteps": 4, "layers": LAYERS}
    model = build_model(config).eval()
    path = save(model, tmp_path / "convnet.pt", {**config, "encoder": "latency", "dataset": DIGITS, "classes": 10})
    return model, path


def test_map_model_places_the_layers_as_export_maps_the_quantized_graph(tmp_path):
    model, path = _checkpoint(tmp_path)
    profile = load_profile("loihi2")
    metadata = {"input_shape": [1, 8, 8], "timesteps": 4, "encoder": "latency", "dataset": DIGITS, "classes": 10}
    calibration = encode(model, load_split(DIGITS, "train").x[:32])
    int_graph, _ = quantize(graph_from_module(model, metadata), profile, calibration)
    exported = map_graph(int_graph, profile)
    mapped = map_model(path, "loihi2")
    assert mapped["model"] == str(path)
    keys = ("name", "neurons", "cores", "population_axons")
    rows = [[[row[k] for k in keys] for row in mapping["layers"]] for mapping in (mapped, exported)]
    assert rows[0] == rows[1] and len(rows[0]) == 3
    for ours, theirs in zip(mapped["cores"], exported["cores"], strict=True):
        assert ours["neuron_ranges"] == theirs["neuron_ranges"] and ours["fan_in"] >= theirs["fan_in"]
        assert ours["synaptic_memory_bytes"] >= theirs["synaptic_memory_bytes"]


def test_map_model_on_too_small_a_chip_is_a_resource_error(tmp_path):
    _, path = _checkpoint(tmp_path)
    document = load_profile("loihi2").to_document()
    document["resources"]["neurons_per_core"]["value"] = 64
    document["resources"]["cores_per_chip"]["value"] = 2
    custom = tmp_path / "small.yaml"
    custom.write_text(yaml.safe_dump(document))
    with pytest.raises(ResourceError, match=r"network needs \d+ cores, profile 'loihi2' has 2 \(cores_per_chip\)"):
        map_model(path, str(custom))
