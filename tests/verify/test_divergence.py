from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.hw.profile import load_profile
from latdeploy.ir import LIF, Dense, DenseInt, Graph, LIFInt, SpikeInput
from latdeploy.passes.quantize import quantize
from latdeploy.sim.fixed import dense_int, simulate_fixed
from latdeploy.sim.float_sim import simulate_float
from latdeploy.sim.kernels_neurons import neuron_int_compiled
from latdeploy.verify.divergence import FACTORS, explain_divergence, first_causal_divergence, simulate_hybrid
from latdeploy.verify.parity import compare


def _float_graph(rng: np.random.Generator, sizes=(12, 9, 5), timesteps=6, **neuron) -> Graph:
    nodes: list = [SpikeInput("input", (), neurons=sizes[0])]
    previous = "input"
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        weight = rng.integers(-6, 9, (n_out, n_in)) / 8.0  # dyadic: float32 sums are exact
        nodes.append(Dense(f"dense{index}", (previous,), weight=weight))
        nodes.append(LIF(f"lif{index}", (f"dense{index}",), bias=np.zeros(n_out, np.float32), **neuron))
        previous = f"lif{index}"
    return Graph(tuple(nodes), {"timesteps": timesteps})


def _spikes(rng: np.random.Generator, batch: int, timesteps: int, n_in: int) -> np.ndarray:
    return (rng.random((batch, timesteps, n_in)) < 0.3).astype(np.uint8)


def _layer(float_graph: Graph, int_graph: Graph, index: int = 1):
    names = (f"dense{index}", f"lif{index}")
    scale = next(q["scale"] for q in int_graph.metadata["quantization"] if q["neuron"] == names[1])
    return (*(float_graph.node(n) for n in names), *(int_graph.node(n) for n in names), scale)


@settings(max_examples=6)
@given(st.integers(0, 2**32 - 1), st.sampled_from([1.0, 0.0]), st.sampled_from([0.0, 1.0]))
def test_all_exact_equals_the_float_model_and_all_hardware_equals_the_fixed_simulator(
    seed, current_decay, voltage_decay
):
    rng = np.random.default_rng(seed)
    float_graph = _float_graph(rng, current_decay=current_decay, voltage_decay=voltage_decay)
    spikes = _spikes(rng, 4, 6, 12)
    int_graph, _ = quantize(float_graph, load_profile("loihi2"), spikes)
    dense, lif, synapse, neuron, scale = _layer(float_graph, int_graph)
    exact_spikes, _ = simulate_hybrid(dense, lif, synapse, neuron, scale, spikes, set(FACTORS))
    np.testing.assert_array_equal(exact_spikes, simulate_float(float_graph, spikes).layers["lif1"].spikes)
    hardware_spikes, hardware_v = simulate_hybrid(dense, lif, synapse, neuron, scale, spikes)
    fixed = simulate_fixed(int_graph, spikes).layers["lif1"]
    np.testing.assert_array_equal(hardware_spikes, fixed.spikes)
    np.testing.assert_array_equal(hardware_v, fixed.v_pre)


@settings(max_examples=60)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(-8, 7),
    st.integers(0, 4095),
    st.integers(0, 4095),
    st.integers(0, 2**17 - 1),
    st.integers(-4096, 4095),
)
def test_hardware_mode_is_bit_exact_at_overflow_and_rounding_corners(seed, weight_exp, du, dv, vth, bias):
    rng = np.random.default_rng(seed)
    synapse = DenseInt("dense1", ("input",), weight=rng.integers(-256, 256, (6, 40)), weight_exp=weight_exp)
    neuron = LIFInt("lif1", ("dense1",), du=du, dv=dv, vth=vth, bias_mant=np.full(6, bias, np.int32))
    dense = Dense("dense1", ("input",), weight=np.zeros((6, 40)))
    lif = LIF("lif1", ("dense1",), bias=np.zeros(6))
    spikes = (rng.random((3, 10, 40)) < 0.6).astype(np.uint8)
    got_spikes, got_v = simulate_hybrid(dense, lif, synapse, neuron, 1.0, spikes)
    expected, _ = neuron_int_compiled(neuron, dense_int(synapse, spikes))
    np.testing.assert_array_equal(got_spikes, expected.spikes)
    np.testing.assert_array_equal(got_v, expected.v_pre)


def _mis_set(int_graph: Graph, name: str, **changes) -> Graph:
    nodes = [node.replace(**changes) if node.name == name else node for node in int_graph.nodes]
    return int_graph.replace_nodes(nodes)


def _explain(float_graph: Graph, int_graph: Graph, spikes: np.ndarray) -> dict:
    float_trace, fixed_trace = simulate_float(float_graph, spikes), simulate_fixed(int_graph, spikes)
    where = first_causal_divergence(float_trace, fixed_trace)
    assert where is not None
    return explain_divergence(float_graph, int_graph, spikes, float_trace, fixed_trace, where)


def _integer_valued_graph(rng: np.random.Generator, sizes=(30, 20, 6), timesteps=8) -> Graph:
    """Float weights 0..255 with a 255 in each layer: Lava's excitatory grid holds them exactly."""
    nodes: list = [SpikeInput("input", (), neurons=sizes[0])]
    previous = "input"
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        weight = rng.integers(0, 256, (n_out, n_in)).astype(np.float32)
        weight[0, 0] = 255
        nodes.append(Dense(f"dense{index}", (previous,), weight=weight))
        nodes.append(LIF(f"lif{index}", (f"dense{index}",), threshold=3000.0, bias=np.zeros(n_out, np.float32)))
        previous = f"lif{index}"
    return Graph(tuple(nodes), {"timesteps": timesteps})


def test_a_mis_set_parameter_is_named_as_the_cause_in_its_own_layer():
    rng = np.random.default_rng(3)
    float_graph = _integer_valued_graph(rng)
    spikes = _spikes(rng, 16, 8, 30)
    int_graph, _ = quantize(float_graph, load_profile("loihi2"), spikes)
    assert compare(simulate_float(float_graph, spikes), simulate_fixed(int_graph, spikes))["mismatches"] == 0
    vth = int_graph.node("lif2").vth
    for changes, cause in (({"vth": vth * 2}, "threshold_rounding"), ({"dv": 900}, "decay_rounding")):
        report = _explain(float_graph, _mis_set(int_graph, "lif2", **changes), spikes)
        assert report["layer"] == "lif2"
        assert report["cause"]["factors"][0] == cause and report["cause"]["method"] == "one_factor_exact"
        assert report["membrane"]["steps"][0] <= report["step"] <= report["membrane"]["steps"][-1]
    bias = np.full(20, 4000, np.int32)
    report = _explain(float_graph, _mis_set(int_graph, "lif1", bias_mant=bias), spikes)
    assert report["layer"] == "lif1" and report["cause"]["factors"] == ["bias_rounding"]


def test_first_divergence_is_the_earliest_step_then_the_earliest_layer():
    from latdeploy.sim.trace import LayerTrace, Trace

    a, b = np.zeros((2, 4, 3), np.uint8), np.zeros((2, 4, 2), np.uint8)
    other_a, other_b = a.copy(), b.copy()
    other_a[0, 3, 0] = other_b[0, 1, 1] = other_a[1, 0, 2] = 1
    trace = lambda x, y: Trace({"l1": LayerTrace(x, x), "l2": LayerTrace(y, y)})  # noqa: E731
    assert first_causal_divergence(trace(a, b), trace(other_a, other_b)) == {
        "sample": 0,
        "step": 1,
        "layer": "l2",
        "neuron": 1,
    }
    assert first_causal_divergence(trace(a, b), trace(a, b)) is None


EXTRA_NEURONS = {
    "SoftResetLIFInt": ("SoftResetLIF", {}),
    "TTFSInt": ("TTFS", {}),
    "MultiThresholdLIFInt": ("MultiThresholdLIF", {"levels": 3}),
}


@settings(max_examples=40)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(sorted(EXTRA_NEURONS)),
    st.integers(-8, 7),
    st.integers(0, 4095),
    st.integers(0, 4095),
    st.integers(1, 2**13),
    st.integers(-4096, 4095),
    st.sampled_from(["zero", "subtract"]),
)
def test_hardware_mode_equals_the_extra_neuron_kernels(seed, kind, weight_exp, du, dv, vth, bias, reset):
    import latdeploy.ir.neurons_ext as ext
    from latdeploy.sim.fixed_neurons import neuron_int

    rng = np.random.default_rng(seed)
    synapse = DenseInt("dense1", ("input",), weight=rng.integers(-256, 256, (6, 40)), weight_exp=weight_exp)
    float_kind, extra = EXTRA_NEURONS[kind]
    if kind == "MultiThresholdLIFInt":
        extra = {**extra, "reset": reset}
    neuron = getattr(ext, kind)("lif1", ("dense1",), du=du, dv=dv, vth=vth, bias_mant=np.full(6, bias), **extra)
    lif = getattr(ext, float_kind)("lif1", ("dense1",), bias=np.zeros(6), **extra)
    dense = Dense("dense1", ("input",), weight=np.zeros((6, 40)))
    spikes = (rng.random((3, 10, 40)) < 0.6).astype(np.uint8)
    got_spikes, got_v = simulate_hybrid(dense, lif, synapse, neuron, 1.0, spikes)
    expected, _ = neuron_int(neuron, dense_int(synapse, spikes))
    np.testing.assert_array_equal(got_spikes, expected.spikes)
    np.testing.assert_array_equal(got_v, expected.v_pre)


@settings(max_examples=6)
@given(st.integers(0, 2**32 - 1), st.sampled_from(sorted(EXTRA_NEURONS)))
def test_all_exact_equals_the_float_model_for_the_extra_neurons(seed, kind):

    import latdeploy.ir.neurons_ext as ext

    rng = np.random.default_rng(seed)
    float_kind, extra = EXTRA_NEURONS[kind]
    weight = rng.integers(-6, 9, (7, 12)) / 8.0
    graph = Graph(
        (
            SpikeInput("input", (), neurons=12),
            Dense("dense1", ("input",), weight=weight),
            getattr(ext, float_kind)("lif1", ("dense1",), bias=np.zeros(7, np.float32), **extra),
        ),
        {"timesteps": 6},
    )
    spikes = _spikes(rng, 4, 6, 12)
    int_graph, _ = quantize(graph, load_profile("loihi2"), spikes)
    dense, lif, synapse, neuron, scale = _layer(graph, int_graph)
    assert type(neuron).__name__ == kind
    exact_spikes, _ = simulate_hybrid(dense, lif, synapse, neuron, scale, spikes, set(FACTORS))
    np.testing.assert_array_equal(exact_spikes, simulate_float(graph, spikes).layers["lif1"].spikes)


@settings(max_examples=8)
@given(st.integers(0, 2**32 - 1))
def test_convolution_layers_are_analysed_too(seed):
    from latdeploy.ir.conv import Conv2d

    rng = np.random.default_rng(seed)
    conv, lif = Conv2d.example(rng)
    conv = conv.replace(weight=rng.integers(-6, 9, conv.weight.shape) / 8.0)
    n_in = int(np.prod(conv.in_shape))
    graph = Graph((SpikeInput("input", (), neurons=n_in), conv, lif), {"timesteps": 5})
    spikes = _spikes(rng, 3, 5, n_in)
    int_graph, _ = quantize(graph, load_profile("loihi2"), spikes)
    scale = next(q["scale"] for q in int_graph.metadata["quantization"] if q["neuron"] == lif.name)
    args = (conv, lif, int_graph.node(conv.name), int_graph.node(lif.name), scale, spikes)
    exact_spikes, _ = simulate_hybrid(*args, set(FACTORS))
    np.testing.assert_array_equal(exact_spikes, simulate_float(graph, spikes).layers[lif.name].spikes)
    hardware_spikes, hardware_v = simulate_hybrid(*args)
    fixed = simulate_fixed(int_graph, spikes).layers[lif.name]
    np.testing.assert_array_equal(hardware_spikes, fixed.spikes)
    np.testing.assert_array_equal(hardware_v, fixed.v_pre)


def test_a_layer_fed_by_a_pool_is_reported_as_not_analysed():
    # the quantizer fuses pool -> dense into one integer synapse; the float synapse's input is the pool
    # (no neuron trace), as after the avgpool of models/digits_ttfs_convnet.pt (a KeyError before)
    from latdeploy.ir.conv import Pool2d

    rng = np.random.default_rng(0)
    pool = Pool2d("pool", ("input",), in_channels=2, in_height=4, in_width=4, stride_h=2, stride_w=2)
    weight = rng.integers(-6, 9, (5, 8)) / 8.0
    lif = LIF("lif1", ("dense1",), threshold=0.5, bias=np.zeros(5, np.float32))
    nodes = (SpikeInput("input", (), neurons=32), pool, Dense("dense1", ("pool",), weight=weight), lif)
    float_graph = Graph(nodes, {"timesteps": 6})
    spikes = (rng.random((8, 6, 32)) < 0.5).astype(np.uint8)
    int_graph, _ = quantize(float_graph, load_profile("loihi2"), spikes)
    report = _explain(float_graph, _mis_set(int_graph, "lif1", vth=int_graph.node("lif1").vth * 3), spikes)
    assert report["layer"] == "lif1" and report["float_fired"] != report["fixed_fired"]
    assert report["cause"] == {"factors": [], "method": "not_analysed", "fixes": {}}
