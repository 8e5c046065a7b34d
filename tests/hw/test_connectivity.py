"""Connectivity of convolutions: the input mask and synapse counts agree with torch's Conv2d."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latdeploy.hw.connectivity import ConvConnectivity, ConvGeometry, DenseConnectivity


def _torch_footprint(geometry: ConvGeometry, outputs: np.ndarray) -> tuple[np.ndarray, int]:
    """Inputs feeding ``outputs`` (non-zero gradient through a ones kernel) and the synapses used."""
    conv = torch.nn.Conv2d(
        geometry.in_shape[0],
        geometry.out_shape[0],
        geometry.kernel,
        geometry.stride,
        geometry.padding,
        geometry.dilation,
        geometry.groups,
        bias=False,
    )
    torch.nn.init.ones_(conv.weight)
    x = torch.ones(1, *geometry.in_shape, requires_grad=True)
    y = conv(x)
    assert tuple(y.shape[1:]) == geometry.out_shape
    selector = torch.zeros(y.numel())
    selector[torch.from_numpy(outputs)] = 1.0
    (y.reshape(-1) * selector).sum().backward()
    return (x.grad.reshape(-1) != 0).numpy(), int(round(float(y.detach().reshape(-1)[torch.from_numpy(outputs)].sum())))


@pytest.mark.parametrize(
    "geometry",
    [
        ConvGeometry((3, 8, 8), (4, 8, 8), (3, 3), padding=(1, 1)),
        ConvGeometry((4, 9, 7), (6, 5, 3), (3, 2), stride=(2, 2), padding=(1, 0)),
        ConvGeometry((4, 8, 8), (4, 4, 4), (2, 2), stride=(2, 2), groups=4),  # sum pooling as grouped conv
        ConvGeometry((2, 10, 10), (4, 6, 6), (3, 3), dilation=(2, 2), groups=2),
    ],
)
def test_conv_footprint_matches_torch(geometry):
    connectivity = ConvConnectivity(geometry)
    rng = np.random.default_rng(0)
    order = connectivity.orders()[0]
    assert sorted(order.tolist()) == list(range(connectivity.n_out))
    for count in (1, 5, connectivity.n_out // 3, connectivity.n_out):
        outputs = order[:count] if count % 2 else rng.choice(connectivity.n_out, count, replace=False)
        mask, synapses = _torch_footprint(geometry, np.asarray(outputs))
        assert np.array_equal(connectivity.inputs(outputs), mask)
        assert connectivity.synapses(outputs, shared=False) == synapses


def test_conv_placement_is_position_major_and_shared_kernels_count_once_per_channel():
    geometry = ConvGeometry((2, 4, 4), (3, 4, 4), (3, 3), padding=(1, 1))
    connectivity = ConvConnectivity(geometry)
    assert connectivity.orders()[0][:3].tolist() == [0, 16, 32]  # pixel (0, 0) of channels 0, 1, 2
    assert connectivity.synapses(connectivity.orders()[0][:3], shared=True) == 3 * 2 * 9
    assert connectivity.synapses(np.array([0, 1, 2]), shared=True) == 1 * 2 * 9


def test_dense_zero_weights_need_no_axon_and_no_synapse():
    connectivity = DenseConnectivity(np.array([[1, 0, 0], [0, 0, 2]]))
    assert connectivity.inputs(np.array([0])).tolist() == [True, False, False]
    assert connectivity.inputs(np.array([0, 1])).tolist() == [True, False, True]
    assert connectivity.synapses(np.array([0, 1]), shared=True) == 2
