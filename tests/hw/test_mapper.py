"""The mapper: every per-core limit, the core budget, design rules, and a JSON-able mapping."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from latdeploy.errors import ProfileError, ResourceError
from latdeploy.hw.mapper import map_graph
from latdeploy.hw.profile import PROFILE_DIR, load_profile
from latdeploy.ir import LIF, Dense, Graph, MultiThresholdLIF, SpikeInput
from latdeploy.ir.conv import Conv2d
from latdeploy.ir.netx_nodes import DelayDenseInt

LOIHI2 = load_profile("loihi2")


def _profile(tmp_path, **resources):
    document = yaml.safe_load((PROFILE_DIR / "loihi2.yaml").read_text())
    document["name"] = "tiny"
    for name, value in resources.items():
        document["resources"][name]["value"] = value
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(document))
    return load_profile(str(path))


def _chain(*weights: np.ndarray) -> Graph:
    nodes: list = [SpikeInput("input", (), neurons=weights[0].shape[1])]
    previous = "input"
    for index, weight in enumerate(weights, start=1):
        nodes.append(Dense(f"dense{index}", (previous,), weight=weight))
        nodes.append(LIF(f"lif{index}", (f"dense{index}",), bias=np.zeros(weight.shape[0])))
        previous = f"lif{index}"
    return Graph(tuple(nodes), {"timesteps": 4})


def _cover(mapping: dict, layer: str) -> list[int]:
    return sorted(
        i for core in mapping["cores"] if core["layer"] == layer for a, b in core["neuron_ranges"] for i in range(a, b)
    )


def test_neurons_per_core_splits_a_layer_into_full_cores(tmp_path):
    mapping = map_graph(_chain(np.ones((10, 3))), _profile(tmp_path, neurons_per_core=4))
    assert [core["neurons"] for core in mapping["cores"]] == [4, 4, 2]
    assert mapping["total_cores"] == 3 and mapping["layers"][0]["bounded_by"] == "neurons_per_core"
    assert _cover(mapping, "lif1") == list(range(10))
    assert mapping["cores"][0]["utilisation"]["neurons_per_core"] == 1.0
    json.dumps(mapping)


def test_fan_in_counts_distinct_source_neurons_of_non_zero_weights(tmp_path):
    weight = np.zeros((10, 100))
    weight[:5, :50], weight[5:, 50:] = 1.0, 1.0  # two blocks: each half of the outputs reads half the inputs
    mapping = map_graph(_chain(weight), _profile(tmp_path, fan_in_per_core=60))
    assert [core["fan_in"] for core in mapping["cores"]] == [50, 50]
    assert [core["neurons"] for core in mapping["cores"]] == [5, 5]
    assert mapping["layers"][0]["bounded_by"] == "fan_in_per_core"
    with pytest.raises(ResourceError, match="layer 'lif1': one neuron alone needs fan_in_per_core 100, .* allows 60"):
        map_graph(_chain(np.ones((10, 100))), _profile(tmp_path, fan_in_per_core=60))


def test_synaptic_memory_counts_weight_bits_per_stored_synapse(tmp_path):
    # 20 synapses x 8 bits = 20 bytes per neuron: 50 bytes hold two neurons
    mapping = map_graph(_chain(np.ones((10, 20))), _profile(tmp_path, synaptic_memory_bytes_per_core=50))
    assert [core["neurons"] for core in mapping["cores"]] == [2] * 5
    assert all(core["synaptic_memory_bytes"] == 40 and core["synapses"] == 40 for core in mapping["cores"])
    assert mapping["layers"][0]["bounded_by"] == "synaptic_memory_bytes_per_core"
    with pytest.raises(ResourceError, match="synaptic_memory_bytes_per_core 20, the profile allows 19"):
        map_graph(_chain(np.ones((10, 20))), _profile(tmp_path, synaptic_memory_bytes_per_core=19))


def test_fan_out_counts_destination_cores_of_each_neuron(tmp_path):
    # layer 2 takes 5 cores (2 neurons each); every layer-1 neuron feeds all 5: fan-out 5 per neuron
    profile = _profile(tmp_path, neurons_per_core=8, fan_out_per_core=12, synaptic_memory_bytes_per_core=20)
    mapping = map_graph(_chain(np.ones((10, 3)), np.ones((10, 10))), profile)
    layer1 = [core for core in mapping["cores"] if core["layer"] == "lif1"]
    assert [core["neurons"] for core in layer1] == [2] * 5 and all(core["fan_out"] == 10 for core in layer1)
    assert mapping["layers"][0]["bounded_by"] == "fan_out_per_core"
    assert mapping["layers"][1]["cores"] == 5 and mapping["total_cores"] == 10
    with pytest.raises(ResourceError, match="layer 'lif1': one neuron alone needs fan_out_per_core 5"):
        map_graph(
            _chain(np.ones((10, 3)), np.ones((10, 10))),
            _profile(tmp_path, neurons_per_core=8, fan_out_per_core=4, synaptic_memory_bytes_per_core=20),
        )


def test_more_cores_than_the_chip_has_is_a_resource_error_naming_the_layer_and_limit(tmp_path):
    graph = _chain(np.ones((10, 3)), np.ones((4, 10)))
    with pytest.raises(
        ResourceError,
        match=r"needs 4 cores, profile 'tiny' has 3 .*'lif1' alone needs 3 of them, bounded by neurons_per_core 4",
    ):
        map_graph(graph, _profile(tmp_path, neurons_per_core=4, cores_per_chip=3))
    assert map_graph(graph, _profile(tmp_path, neurons_per_core=4, cores_per_chip=4))["total_cores"] == 4


def test_axonal_delay_above_the_profile_limit_is_a_resource_error(tmp_path):
    delay = np.full((2, 3), 10, np.int32)
    graph = Graph(
        (
            SpikeInput("input", (), neurons=3),
            DelayDenseInt("synapse", ("input",), weight=np.ones((2, 3), np.int32), delay=delay),
            LIF("lif", ("synapse",), bias=np.zeros(2)),
        ),
        {"timesteps": 4},
    )
    assert map_graph(graph, LOIHI2)["total_cores"] == 1
    with pytest.raises(ResourceError, match="node 'synapse': axonal delay of 10 steps exceeds .*max_axonal_delay 9"):
        map_graph(graph, _profile(tmp_path, max_axonal_delay=9))


def test_graded_spikes_need_a_profile_with_graded_payloads():
    graph = Graph(
        (
            SpikeInput("input", (), neurons=3),
            Dense("dense1", ("input",), weight=np.ones((4, 3))),
            MultiThresholdLIF("graded", ("dense1",), bias=np.zeros(4), levels=3),
            Dense("dense2", ("graded",), weight=np.ones((2, 4))),
            LIF("out", ("dense2",), bias=np.zeros(2)),
        ),
        {"timesteps": 4},
    )
    assert map_graph(graph, LOIHI2)["total_cores"] == 2
    with pytest.raises(ResourceError, match="'graded': sends graded spikes of 2 bits .*graded_spike_bits 0"):
        map_graph(graph, load_profile("loihi1"))


def test_an_energy_only_profile_cannot_be_mapped_onto():
    with pytest.raises(ProfileError, match="energy-only"):
        map_graph(_chain(np.ones((2, 2))), load_profile("cmos45nm"))


def _vgg11(width: float) -> Graph:
    """VGG-11 for 32x32x3 as export maps it: pools fused into the next synapse (FuseSynapseChains)."""
    from latdeploy.frontend.torch_module import graph_from_module
    from latdeploy.nn import build_model
    from latdeploy.passes.fuse_synapses import fuse_synapse_chains

    model = build_model({"arch": "vgg11", "timesteps": 2, "width": width}).eval()
    metadata = {"input_shape": [3, 32, 32], "timesteps": 2, "encoder": "latency", "dataset": "none", "classes": 10}
    return fuse_synapse_chains(graph_from_module(model, metadata))


def test_vgg11_for_32x32x3_maps_on_loihi2_at_quarter_width_and_a_small_chip_refuses_it(tmp_path):
    graph = _vgg11(0.25)
    mapping = map_graph(graph, LOIHI2)
    assert mapping["total_cores"] == sum(layer["cores"] for layer in mapping["layers"]) == 13
    assert [layer["neurons"] for layer in mapping["layers"]] == [16384, 8192, 4096, 4096, 2048, 2048, 512, 512, 10]
    for layer in mapping["layers"]:
        assert _cover(mapping, layer["name"]) == list(range(layer["neurons"]))
    for core in mapping["cores"]:
        assert all(0 < value <= 1.0 for name, value in core["utilisation"].items() if name != "fan_out_per_core")
    json.dumps(mapping)
    small = _profile(tmp_path, cores_per_chip=mapping["total_cores"] - 1)
    with pytest.raises(ResourceError, match=f"needs {mapping['total_cores']} cores, profile 'tiny' has"):
        map_graph(graph, small)


def test_full_width_vgg11_maps_on_loihi2_on_population_axons_bounded_by_synaptic_memory():
    mapping = map_graph(_vgg11(1.0), LOIHI2)
    layers = {layer["name"]: layer for layer in mapping["layers"]}
    assert [layer["cores"] for layer in mapping["layers"]] == [8, 4, 3, 5, 10, 19, 19, 19, 1]
    assert mapping["total_cores"] == 88 <= LOIHI2["resources.cores_per_chip"]
    assert layers["lif1"]["bounded_by"] == "neurons_per_core" and layers["lif8"]["bounded_by"].startswith("synaptic")
    assert all(layers[f"lif{i}"]["population_axons"] for i in range(1, 9)) and not layers["lif9"]["population_axons"]
    lif7 = [core for core in mapping["cores"] if core["layer"] == "lif7"]
    assert max(core["fan_in"] for core in lif7) == 16  # the 4x4 pixels of lif6, not its 8192 neurons
    for core in mapping["cores"]:
        assert max(core["utilisation"].values()) <= 1.0


def test_full_width_vgg11_without_population_axons_needs_8192_input_axons_for_one_neuron(tmp_path):
    # one lif7 neuron reads 512 channels x 4x4 pixels of lif6 through the pool fused into its 3x3 conv
    with pytest.raises(
        ResourceError,
        match=r"layer 'lif7': one neuron alone needs fan_in_per_core 8192, the profile allows 4096 "
        r"\(input axons of one neuron's fan-in\); splitting one neuron's inputs across cores needs partial-sum relay",
    ):
        map_graph(_vgg11(1.0), _profile(tmp_path, conv_population_axon_slots=0))


def _conv_layers(in_shape: tuple[int, int, int], *out_channels: int) -> Graph:
    """Input -> (3x3 conv, padding 1 -> LIF) per entry of ``out_channels``, weights all one."""
    channels, height, width = in_shape
    nodes: list = [SpikeInput("input", (), neurons=channels * height * width)]
    previous = "input"
    for index, out in enumerate(out_channels, start=1):
        weight = np.ones((out, channels, 3, 3), np.float32)
        geometry = {"in_channels": channels, "in_height": height, "in_width": width, "padding_h": 1, "padding_w": 1}
        nodes.append(Conv2d(f"conv{index}", (previous,), weight=weight, **geometry))
        nodes.append(LIF(f"lif{index}", (f"conv{index}",), bias=np.zeros(out * height * width)))
        previous, channels = f"lif{index}", out
    return Graph(tuple(nodes), {"timesteps": 4})


def _pixels_read(neurons: list[int], height: int, width: int) -> set[tuple[int, int]]:
    """Input pixels that the 3x3 (padding 1) receptive fields of ``neurons`` ([C, H, W] order) cover."""
    pixels = set()
    for neuron in neurons:
        row, col = divmod(neuron % (height * width), width)
        pixels |= {
            (r, c)
            for r in range(row - 1, row + 2)
            for c in range(col - 1, col + 2)
            if 0 <= r < height and 0 <= c < width
        }
    return pixels


def _neurons(core: dict) -> list[int]:
    return [i for a, b in core["neuron_ranges"] for i in range(a, b)]


def test_population_fan_in_counts_input_pixels_and_discrete_fan_in_input_neurons(tmp_path):
    graph = _conv_layers((4, 6, 6), 2)
    mapping = map_graph(graph, _profile(tmp_path, fan_in_per_core=20))
    assert mapping["layers"][0]["population_axons"] and mapping["layers"][0]["bounded_by"] == "fan_in_per_core"
    for core in mapping["cores"]:
        assert core["fan_in"] == len(_pixels_read(_neurons(core), 6, 6)) <= 20
    # an edge neuron reads 2x3 pixels x 4 channels = 24 input neurons
    with pytest.raises(ResourceError, match="one neuron alone needs fan_in_per_core 24, the profile allows 20"):
        map_graph(graph, _profile(tmp_path, fan_in_per_core=20, conv_population_axon_slots=0))


@pytest.mark.parametrize("slots", [0, 1, 2])
def test_fan_out_counts_slots_per_pixel_and_destination_core_on_population_axons(tmp_path, slots):
    graph = _conv_layers((1, 4, 4), 4, 4)
    mapping = map_graph(graph, _profile(tmp_path, neurons_per_core=16, conv_population_axon_slots=slots))
    destinations = [set(_neurons(core)) for core in mapping["cores"] if core["layer"] == "lif2"]
    assert len(destinations) == 4
    for core in (core for core in mapping["cores"] if core["layer"] == "lif1"):
        expected = 0
        for targets in destinations:
            read = _pixels_read(sorted(targets), 4, 4)
            feeding = [n for n in _neurons(core) if divmod(n % 16, 4) in read]
            expected += slots * len({n % 16 for n in feeding}) if slots else len(feeding)
        assert core["fan_out"] == expected > 0


def test_spatial_tiles_times_channel_groups_beat_rows_and_whole_channels(tmp_path):
    # memory holds 4 kernels (9 bytes each), fan-in 30 input pixels: a 4x4 output tile reads 5x5 pixels.
    # Orders are tried position-major, channel-major, then tiles; a later order wins only with fewer cores.
    profile = _profile(tmp_path, fan_in_per_core=30, synaptic_memory_bytes_per_core=36, neurons_per_core=1000)
    mapping = map_graph(_conv_layers((1, 8, 8), 8), profile)
    layer = mapping["layers"][0]
    assert (layer["order"], layer["cores"], layer["bounded_by"]) == (
        "tiles 4x4 x channel groups",
        8,
        "synaptic_memory_bytes_per_core",
    )
    assert _cover(mapping, "lif1") == list(range(512))
    for core in mapping["cores"]:
        assert (core["neurons"], core["fan_in"], core["synaptic_memory_bytes"]) == (64, 25, 36)
