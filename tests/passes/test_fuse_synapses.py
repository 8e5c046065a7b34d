"""FuseSynapseChains: a fused synapse computes what the chain computed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.errors import LatdeployError, UnsupportedLayerError
from latdeploy.ir import LIF, Conv2d, Dense, Graph, Pool2d, SpikeInput
from latdeploy.passes.fuse_synapses import MAX_DENSE_ENTRIES, fuse_pair, fuse_synapse_chains
from latdeploy.sim.float_sim import FLOAT_KERNELS


def _run(nodes, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        for node in nodes:
            x = FLOAT_KERNELS.get(type(node))(node, x)
    return x


def _pool(name, source, shape, kernel, mode):
    channels, height, width = shape
    return Pool2d(
        name, (source,), in_channels=channels, in_height=height, in_width=width, kernel_h=kernel, kernel_w=kernel,
        stride_h=kernel, stride_w=kernel, mode=mode,
    )  # fmt: skip


def _conv(name, source, shape, rng, kernel, stride, padding, groups):
    channels, height, width = shape
    weight = rng.standard_normal((2 * groups, channels // groups, kernel, kernel)).astype(np.float32)
    return Conv2d(
        name, (source,), weight=weight, in_channels=channels, in_height=height, in_width=width,
        stride_h=stride, stride_w=stride, padding_h=padding, padding_w=padding, groups=groups,
    )  # fmt: skip


@given(
    seed=st.integers(0, 2**16),
    pool_first=st.booleans(),
    size=st.integers(4, 9),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 2),
    padding=st.integers(0, 1),
    pool=st.integers(1, 3),
    mode=st.sampled_from(["avg", "sum"]),
    groups=st.sampled_from([1, 2]),
)
@settings(max_examples=60)
def test_fused_pair_computes_the_chain(seed, pool_first, size, kernel, stride, padding, pool, mode, groups):
    rng = np.random.default_rng(seed)
    shape = (2, size, size)
    try:
        if pool_first:
            first = _pool("a", "input", shape, pool, mode)
            second = _conv("b", "a", first.out_shape, rng, kernel, stride, padding, groups)
        else:
            first = _conv("a", "input", shape, rng, kernel, stride, padding, groups)
            second = _pool("b", "a", first.out_shape, pool, mode)
    except LatdeployError:  # geometry that does not fit
        return
    fused = fuse_pair(first, second, int(np.prod(shape)))
    assert fused.name == "b" and fused.inputs == ("input",) and fused.size == second.size
    if pool_first and size % pool == 0:
        assert isinstance(fused, Conv2d)  # VGG's pool -> conv stays a convolution
    x = torch.from_numpy((rng.random((3, 2, int(np.prod(shape)))) < 0.5).astype(np.float32))
    assert torch.allclose(_run([fused], x), _run([first, second], x), atol=1e-4)


def test_pool_flatten_linear_becomes_dense_and_graph_keeps_names():
    rng = np.random.default_rng(0)
    pool = _pool("pool1", "input", (2, 4, 4), 2, "avg")
    dense = Dense("dense1", ("pool1",), weight=rng.standard_normal((3, 8)).astype(np.float32))
    neuron = LIF("lif1", ("dense1",), bias=np.zeros(3, np.float32))
    graph = Graph((SpikeInput("input", (), neurons=32), pool, dense, neuron), {"timesteps": 2})
    fused = fuse_synapse_chains(graph)
    assert [n.name for n in fused.nodes] == ["input", "dense1", "lif1"]
    assert isinstance(fused.node("dense1"), Dense) and fused.node("dense1").weight.shape == (3, 32)
    x = torch.from_numpy((rng.random((2, 5, 32)) < 0.5).astype(np.float32))
    assert torch.allclose(_run([fused.node("dense1")], x), _run([pool, dense], x), atol=1e-5)
    assert fuse_synapse_chains(fused) is fused


def test_oversized_dense_fallback_is_refused():
    big = Dense("a", ("input",), weight=np.ones((1 << 11, 1 << 11), np.float32))
    second = Dense("b", ("a",), weight=np.ones((2, 1 << 11), np.float32))
    assert (1 << 11) * 2 <= MAX_DENSE_ENTRIES
    fuse_pair(big, second, 1 << 11)
    wide = Dense("c", ("a",), weight=np.ones((1 << 11, 1 << 11), np.float32))
    with pytest.raises(UnsupportedLayerError, match="put a neuron between them"):
        fuse_pair(big, wide, (1 << 11) + MAX_DENSE_ENTRIES)
