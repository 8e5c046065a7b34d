from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from latdeploy.cli import cli
from latdeploy.data import load_split
from latdeploy.energy.counting import SYNAPSE_COUNTERS, count_operations, energy_report
from latdeploy.errors import UnsupportedLayerError
from latdeploy.flows.prepare import encode
from latdeploy.hw.profile import load_profile
from latdeploy.ir import (
    Conv2dInt,
    DelayDenseInt,
    Dense,
    DenseInt,
    Graph,
    LIFInt,
    RecurrentDenseInt,
    SpikeInput,
    XyloIAFInt,
)
from latdeploy.sim.fixed import simulate_fixed

PROFILES = ("loihi2", "loihi1", "cmos45nm", "spinnaker2")


def test_sops_updates_spikes_and_joules_by_hand():
    graph = Graph(
        (
            SpikeInput("input", (), neurons=3),
            DenseInt("dense1", ("input",), weight=np.array([[2, 0, 4], [0, 0, 6]])),
            LIFInt("lif1", ("dense1",), vth=3, bias_mant=np.zeros(2, np.int32)),
        ),
        {"timesteps": 2},
    )
    spikes = np.zeros((2, 2, 3), np.uint8)
    spikes[0, 0, [0, 2]] = 1  # fan-outs 1 and 2 -> 3 SOPs; both neurons get input
    spikes[1, 1, 1] = 1  # input 1 has no non-zero weight -> 0 SOPs, no input
    trace = simulate_fixed(graph, spikes)
    profile = load_profile("loihi2")
    report = energy_report(graph, spikes, trace, profile, graph)
    layer = report["per_layer"][0]
    assert layer["sops"] == 3 / 2
    assert layer["neuron_updates"] == 4 and layer["neuron_updates_active"] == 2 / 2
    spike_count = int(trace.output().spikes.sum())
    assert spike_count == 2  # a = 6 for both neurons: 384 > 3 << 6
    energy = profile.values["energy"]
    expected = (
        3 * energy["synaptic_op_j"]
        + 2 * energy["neuron_update_active_j"]
        + 6 * energy["neuron_update_idle_j"]
        + 2 * energy["spike_j"]
    ) / 2
    assert report["energy_j"] == pytest.approx(expected)
    assert report["ann_equivalent"]["macs"] == 6
    assert report["ann_equivalent"]["energy_j"] == pytest.approx(6 * 4.6e-12)


def test_dense_fan_out_counts_zero_weights_and_graded_payloads_count_once():
    graph = Graph(
        (
            SpikeInput("input", (), neurons=3),
            DenseInt("dense1", ("input",), weight=np.array([[2, 0, 4], [0, 0, 6]])),
            LIFInt("lif1", ("dense1",), vth=3, bias_mant=np.zeros(2, np.int32)),
        ),
        {"timesteps": 2},
    )
    spikes = np.zeros((1, 2, 3), np.uint8)
    spikes[0, 0, [0, 1]] = 1
    spikes[0, 1, 2] = 3  # a graded payload is one event
    counts = count_operations(graph, spikes, simulate_fixed(graph, np.minimum(spikes, 1)), graph)
    layer = counts["per_layer"][0]
    assert layer["input_events"] == 3
    assert layer["sops"] == 1 + 0 + 2 and layer["sops_dense"] == 3 * 2


def test_sops_from_lava_spikes_equal_the_fixed_point_count(shipped_model_path):
    from latdeploy.backends.lava import run_lava
    from latdeploy.flows.verify import load_subject

    subject = load_subject(shipped_model_path, "loihi2")
    spikes = encode(subject.model, load_split(subject.metadata["dataset"], "test").x[:4])
    lava = run_lava(subject.int_graph, spikes)
    from_lava = count_operations(subject.int_graph, spikes, lava.trace, subject.float_graph)
    trace = simulate_fixed(subject.int_graph, spikes)
    from_fixed = count_operations(subject.int_graph, spikes, trace, subject.float_graph)
    assert from_lava == from_fixed
    assert from_lava["per_layer"][1]["sops"] > 0 and from_lava["per_layer"][0]["spikes"] > 0


def test_four_profiles_side_by_side_for_the_shipped_model(shipped_model_path):
    result = CliRunner().invoke(
        cli,
        ["energy", str(shipped_model_path), "--samples", "20", "--json"]
        + [arg for name in PROFILES for arg in ("--profile", name)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    table = json.loads(result.output)
    reports = {report["profile"]: report for report in table["profiles"]}
    assert list(reports) == list(PROFILES)
    sops = reports["loihi2"]["sops"]
    assert all(report["sops"] == sops for report in reports.values())  # counted once, priced four times
    assert reports["cmos45nm"]["energy_j"] == pytest.approx(sops * 0.9e-12)
    assert reports["loihi1"]["energy_j"] == pytest.approx(reports["loihi2"]["energy_j"])  # same published figures
    assert reports["spinnaker2"]["energy_j"] > 10 * reports["loihi1"]["energy_j"]
    assert reports["loihi2"]["ann_equivalent"]["macs"] == 64 * 128 + 128 * 10
    assert reports["loihi2"]["ann_equivalent"]["energy_45nm_j"] == pytest.approx((64 * 128 + 128 * 10) * 4.6e-12)
    text = CliRunner().invoke(cli, ["energy", str(shipped_model_path), "--samples", "5", "--profile", "cmos45nm"])
    assert "SOP convention" in text.output and "cmos45nm" in text.output


def test_conv_sops_equal_those_of_the_equivalent_dense_matrix():
    from latdeploy.ir.conv import Conv2dInt
    from latdeploy.sim.fixed_conv import conv2d_int

    rng = np.random.default_rng(5)
    for _ in range(5):
        conv, neuron = Conv2dInt.example(rng)
        conv = conv.replace(weight=np.where(rng.random(conv.weight.shape) < 0.3, 0, conv.weight))
        n_in = int(np.prod(conv.in_shape))
        graph = Graph((SpikeInput("input", (), neurons=n_in), conv, neuron), {"timesteps": 3})
        spikes = (rng.random((2, 3, n_in)) < 0.4).astype(np.uint8)
        layer = count_operations(graph, spikes, simulate_fixed(graph, spikes), graph)["per_layer"][0]
        # column i of the matrix = the conv of a one-hot input i
        matrix = conv2d_int(conv, np.eye(n_in, dtype=np.uint8)[None])[0].T
        connected = conv2d_int(conv.replace(weight=np.ones_like(conv.weight)), np.eye(n_in, dtype=np.uint8)[None])[0].T
        per_input = spikes.sum(axis=(0, 1))
        assert layer["sops"] * 2 == (per_input * (matrix != 0).sum(axis=0)).sum()
        assert layer["sops_dense"] * 2 == (per_input * connected.sum(axis=0)).sum()
        # the ANN pass computes every tap, padding included (torch's convention), so at least the connected ones
        out_channels, per_group, kernel_h, kernel_w = conv.weight.shape
        every_tap = out_channels * conv.out_height * conv.out_width * per_group * kernel_h * kernel_w
        assert layer["macs_ann"] == every_tap >= connected.sum()
        assert (layer["macs_ann"] == connected.sum()) == (conv.padding_h == conv.padding_w == 0)


def test_synapse_counters_are_keyed_by_node_class_with_the_uniform_lookup_error():
    assert SYNAPSE_COUNTERS.keys() == [DenseInt, DelayDenseInt, Conv2dInt, XyloIAFInt, RecurrentDenseInt]
    with pytest.raises(
        UnsupportedLayerError, match=r"^node 'd': no energy counting rule for Dense; supported: Conv2dInt"
    ):
        SYNAPSE_COUNTERS.get(Dense, subject="node 'd'")
