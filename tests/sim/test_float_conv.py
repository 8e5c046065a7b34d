"""Float conv / pool / delay kernels equal the torch layers exactly."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from latdeploy.ir import AxonalDelay, Conv2d, Pool2d
from latdeploy.nn.layers import AxonalDelay as TorchAxonalDelay
from latdeploy.nn.layers import SumPool2d
from latdeploy.sim.float_conv import axonal_delay_float, conv2d_float, pool2d_float


def _per_step(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A stateless layer on time-first ``[T, B, C, H, W]`` as the conv nets run it, flattened to ``[T, B, N]``."""
    out = layer(x.flatten(0, 1))
    return out.reshape(*x.shape[:2], -1)


@given(seed=st.integers(0, 2**16), groups=st.integers(1, 2), stride=st.integers(1, 2), padding=st.integers(0, 2))
@settings(max_examples=25)
def test_conv_kernel_equals_torch_conv2d(seed, groups, stride, padding):
    torch.manual_seed(seed)
    layer = nn.Conv2d(2 * groups, 3 * groups, (3, 2), stride=stride, padding=padding, groups=groups, bias=False)
    x = (torch.rand(4, 3, 2 * groups, 6, 5) < 0.4).float()
    node = Conv2d(
        "conv", ("input",), weight=layer.weight.detach().numpy(), in_channels=2 * groups, in_height=6, in_width=5,
        stride_h=stride, stride_w=stride, padding_h=padding, padding_w=padding, groups=groups,
    )  # fmt: skip
    with torch.no_grad():
        expected = _per_step(layer, x)
        assert torch.equal(conv2d_float(node, x.reshape(4, 3, -1)), expected)
    assert node.size == expected.shape[-1]


@given(seed=st.integers(0, 2**16), kernel=st.integers(1, 3), stride=st.integers(1, 3), summed=st.booleans())
@settings(max_examples=25)
def test_pool_kernels_equal_torch_pools(seed, kernel, stride, summed):
    torch.manual_seed(seed)
    padding = kernel // 2
    layer = SumPool2d(kernel, stride, padding) if summed else nn.AvgPool2d(kernel, stride, padding)
    x = (torch.rand(3, 2, 2, 7, 6) < 0.5).float()
    node = Pool2d(
        "pool", ("input",), in_channels=2, in_height=7, in_width=6, kernel_h=kernel, kernel_w=kernel,
        stride_h=stride, stride_w=stride, padding_h=padding, padding_w=padding, mode="sum" if summed else "avg",
    )  # fmt: skip
    with torch.no_grad():
        assert torch.equal(pool2d_float(node, x.reshape(3, 2, -1)), _per_step(layer, x))
    assert np.allclose(node.depthwise_weight().sum(axis=(1, 2, 3)), kernel * kernel if summed else 1.0)


def test_delay_kernel_equals_torch_axonal_delay():
    x = (torch.rand(6, 2, 5) < 0.5).float()
    node = AxonalDelay("delay", ("input",), neurons=5, steps=2)
    assert torch.equal(axonal_delay_float(node, x), TorchAxonalDelay(2)(x))
