"""The graph description's integer test agrees with the fixed-point simulator's kernel table."""

from __future__ import annotations

import numpy as np

import latdeploy.neurons  # noqa: F401  (registers every neuron kind's nodes and kernels)
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.ir.describe import describe_graph, is_integer_graph, is_integer_node_type
from latdeploy.ir.nodes import NODE_TYPES
from latdeploy.nn.checkpoint import load
from latdeploy.sim.fixed import FIXED_KERNELS
from tests.conftest import SHIPPED_MODEL, int_graph


def test_integer_node_types_are_exactly_those_with_a_fixed_point_kernel():
    kinds = {name: cls for name, cls in NODE_TYPES.items() if name != "SpikeInput"}
    by_name = {name for name, cls in kinds.items() if is_integer_node_type(cls)}
    by_kernel = {name for name, cls in kinds.items() if cls in FIXED_KERNELS}
    assert by_name == by_kernel
    assert {"DenseInt", "LIFInt", "AxonalDelay"} <= by_name and not {"Dense", "LIF", "Pool2d"} & by_name


def test_a_float_and_an_integer_graph_are_told_apart():
    integer = int_graph(np.random.default_rng(0), (4, 3), timesteps=5)
    assert is_integer_graph(integer) and describe_graph(integer)["integer"]
    floating = graph_from_module(*load(SHIPPED_MODEL))
    assert not is_integer_graph(floating) and not describe_graph(floating)["integer"]
