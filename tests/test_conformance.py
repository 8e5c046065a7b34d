"""Conformance: walks the registries, so a node type or neuron kind added without one of its parts fails here.

* every node type has a float or a fixed-point kernel;
* every float neuron has a quantizer, every integer node a Lava builder or a declared refusal;
* every node type round-trips ONNX (one example graph per type, ``tests/ir/node_examples.py``);
* every neuron kind's firing rule gives the same run in numpy (the reference), in numba (its
  kernel ``mode``) and in torch (fake-quant training), overflowing currents included.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.backends.lava.builders import LAVA_BUILDERS, LAVA_REFUSALS
from latdeploy.hw.arithmetic import LOIHI
from latdeploy.ir import NODE_TYPES, SpikeInput
from latdeploy.ir.neurons_ext import RESETS
from latdeploy.ir.onnx_io import from_onnx, to_onnx
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.nn.fake_quant_int import neuron_forward
from latdeploy.passes.quantize import NEURON_QUANTIZERS
from latdeploy.sim.fixed import FIXED_KERNELS
from latdeploy.sim.fixed_neurons import neuron_int
from latdeploy.sim.float_sim import FLOAT_KERNELS
from latdeploy.sim.kernels_neurons import neuron_int_compiled
from tests.ir.node_examples import node_graphs
from tests.ir.test_onnx_io import _assert_same_graph

NODE_TYPE_NAMES = sorted(name for name in NODE_TYPES if name != "SpikeInput")  # the input: every simulator's own
FLOAT_NEURONS = [cls for cls in FLOAT_KERNELS if cls.kind == "neuron"]
INTEGER_NODES = [cls for cls in FIXED_KERNELS if cls is not SpikeInput]
KIND_FIELDS = {"levels": st.integers(1, 8), "reset": st.sampled_from(RESETS)}
"""How the conformance test draws each kind's extra integer fields."""


@pytest.mark.parametrize("name", NODE_TYPE_NAMES)
def test_every_node_type_has_a_float_or_fixed_point_kernel(name):
    cls = NODE_TYPES.get(name)
    assert cls in FLOAT_KERNELS or cls in FIXED_KERNELS


def test_the_tables_see_every_neuron_kind():
    for _, kind in NEURON_KINDS.items():
        assert kind.float_node in FLOAT_KERNELS and kind.int_node in FIXED_KERNELS, kind.name
        assert NODE_TYPES.get(kind.float_node.__name__) is kind.float_node
        assert NODE_TYPES.get(kind.int_node.__name__) is kind.int_node


@pytest.mark.parametrize("cls", FLOAT_NEURONS, ids=lambda cls: cls.__name__)
def test_every_float_neuron_has_a_quantizer(cls):
    assert cls in NEURON_QUANTIZERS


@pytest.mark.parametrize("cls", INTEGER_NODES, ids=lambda cls: cls.__name__)
def test_every_integer_node_has_a_lava_builder_or_a_declared_refusal(cls):
    assert (cls in LAVA_BUILDERS) != (cls in LAVA_REFUSALS)


@pytest.mark.parametrize("name", NODE_TYPE_NAMES)
@given(data=st.data())
@settings(max_examples=5, deadline=None)
def test_every_node_type_round_trips_onnx(name, data):
    graph = data.draw(node_graphs(NODE_TYPES.get(name)))
    _assert_same_graph(graph, from_onnx(onnx.load_from_string(to_onnx(graph).SerializeToString())))


@pytest.mark.parametrize("kind_name", NEURON_KINDS.names())
@settings(max_examples=25, deadline=None)
@given(
    data=st.data(),
    seed=st.integers(0, 2**31 - 1),
    du=st.one_of(st.sampled_from([-1, 0, 4095]), st.integers(-1, 4095)),
    dv=st.one_of(st.sampled_from([0, 4095, 4096]), st.integers(0, 4096)),
    vth=st.one_of(st.just(1), st.integers(1, 400)),
    bias_exp=st.integers(0, 7),
    magnitude=st.sampled_from([300, 1 << 18, 1 << 26, 1 << 31]),
    shape=st.tuples(st.integers(1, 3), st.integers(1, 7), st.integers(1, 70)),
)
def test_kinds_fire_alike_in_numpy_numba_and_torch(kind_name, data, seed, du, dv, vth, bias_exp, magnitude, shape):
    kind = NEURON_KINDS.get(kind_name)
    rng = np.random.default_rng(seed)
    extra = {name: data.draw(KIND_FIELDS[name]) for name in kind.fields}
    vth = min(vth, LOIHI.v_max // (int(extra.get("levels", 1)) << LOIHI.threshold_shift))
    bias = rng.integers(LOIHI.bias_mant_min, LOIHI.bias_mant_max + 1, shape[2])
    node = kind.int_node("n", (), du=du, dv=dv, vth=vth, bias_mant=bias, bias_exp=bias_exp, **extra)
    current = rng.integers(-magnitude, magnitude, shape, dtype=np.int64).astype(np.int32)
    reference, reference_overflow = neuron_int(node, current)
    if kind.mode is not None:
        compiled, overflow = neuron_int_compiled(node, current)
        for key in ("spikes", "v_pre", "u", "v"):
            assert np.array_equal(getattr(compiled, key), getattr(reference, key)), key
        assert overflow == reference_overflow
    time_first = torch.from_numpy(current.transpose(1, 0, 2).astype(np.float64))
    payloads, v_pre = neuron_forward(time_first, torch.from_numpy(bias.astype(np.float64)), node, scale=1.0)
    unit = float(1 << LOIHI.threshold_shift)
    assert np.array_equal(payloads.numpy().transpose(1, 0, 2), reference.spikes)
    assert np.array_equal((v_pre * unit).numpy().transpose(1, 0, 2), reference.v_pre)
