"""Small layers run in numpy, large ones compiled: the same bits either way, and no numba where none is needed."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import latdeploy.sim.numpy_kernels as numpy_kernels
from latdeploy.ir import DenseInt, Graph, SpikeInput
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.sim.fixed_weights import DenseWeights
from latdeploy.sim.kernels import dense_accumulate
from latdeploy.sim.numpy_kernels import dense_numpy
from tests.sim.test_kernels import _dense_reference, dense_cases
from tests.test_conformance import KIND_FIELDS

COMPILED_KINDS = [name for name in NEURON_KINDS.names() if NEURON_KINDS.get(name).mode is not None]


@settings(max_examples=200)
@given(dense_cases())
def test_numpy_dense_equals_the_reference_and_the_compiled_kernels(case):
    spikes, weight, weight_exp = case
    got = dense_numpy(spikes, DenseWeights.of(weight), weight_exp)
    assert got.dtype == np.int32
    assert np.array_equal(got, _dense_reference(spikes, weight, weight_exp))
    assert np.array_equal(got, dense_accumulate(spikes, weight, weight_exp))


def _graph(kind_name: str, data: st.DataObject, rng: np.random.Generator) -> Graph:
    kind = NEURON_KINDS.get(kind_name)
    fan_in, size = data.draw(st.integers(1, 20)), data.draw(st.integers(1, 30))
    extra = {name: data.draw(KIND_FIELDS[name]) for name in kind.fields}
    weight = rng.integers(-256, 256, (size, fan_in)).astype(np.int32)
    return Graph(
        (
            SpikeInput("in", (), neurons=fan_in),
            DenseInt("dense", ("in",), weight=weight, weight_exp=data.draw(st.integers(-3, 7)), num_weight_bits=8),
            kind.int_node(
                "n",
                ("dense",),
                du=data.draw(st.integers(-1, 4095)),
                dv=data.draw(st.integers(0, 4096)),
                vth=data.draw(st.integers(1, 200)),
                bias_mant=rng.integers(-4096, 4096, size),
                bias_exp=data.draw(st.integers(0, 7)),
                **extra,
            ),
        ),
        {"timesteps": data.draw(st.integers(1, 6))},
    )


@pytest.mark.parametrize("kind_name", COMPILED_KINDS)
@settings(max_examples=10, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**31 - 1))
def test_the_simulator_gives_the_same_trace_in_numpy_and_compiled(kind_name, data, seed):
    rng = np.random.default_rng(seed)
    graph = _graph(kind_name, data, rng)
    samples = data.draw(st.integers(1, 4))
    spikes = (rng.random((samples, graph.timesteps, graph.nodes[0].size)) < 0.4).astype(np.uint8)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(numpy_kernels, "compiled_kernels_loaded", lambda: False)  # this test process loaded them
        in_numpy = simulate_fixed(graph, spikes)
        patch.setattr(numpy_kernels, "compiled_kernels_loaded", lambda: True)
        compiled = simulate_fixed(graph, spikes)
    for key in ("spikes", "v_pre", "u", "v"):
        assert np.array_equal(getattr(in_numpy.layers["n"], key), getattr(compiled.layers["n"], key)), key
    assert in_numpy.overflow == compiled.overflow


def test_small_layers_run_in_numpy_until_the_compiled_kernels_are_loaded(monkeypatch):
    monkeypatch.setattr(numpy_kernels, "compiled_kernels_loaded", lambda: False)
    assert numpy_kernels.in_numpy(16, 1 << 21, numpy_kernels.NUMPY_NEURON_STEPS)
    assert not numpy_kernels.in_numpy(17, 100, numpy_kernels.NUMPY_NEURON_STEPS)  # a Python loop per step
    assert not numpy_kernels.in_numpy(8, (1 << 21) + 1, numpy_kernels.NUMPY_NEURON_STEPS)
    monkeypatch.setattr(numpy_kernels, "compiled_kernels_loaded", lambda: True)
    assert not numpy_kernels.in_numpy(8, 100, numpy_kernels.NUMPY_NEURON_STEPS)


def test_a_small_network_is_simulated_without_numba():
    """numba's first kernel call costs ~0.5 s in a fresh process: a small layer never pays it."""
    code = """
import sys
import numpy as np
from latdeploy.ir import DenseInt, Graph, LIFInt, SpikeInput
from latdeploy.sim.fixed import simulate_fixed
graph = Graph((SpikeInput("in", (), neurons=4), DenseInt("d", ("in",), weight=np.ones((3, 4), np.int32), weight_exp=0,
    num_weight_bits=8), LIFInt("n", ("d",), du=4095, dv=0, vth=1, bias_mant=np.zeros(3, np.int64), bias_exp=0)),
    {"timesteps": 2})
trace = simulate_fixed(graph, np.ones((2, 2, 4), np.uint8))
assert trace.layers["n"].spikes.sum() > 0
print("numba" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
