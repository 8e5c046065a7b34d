"""Connectivity of convolutions: the input mask and synapse counts agree with torch's Conv2d."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latdeploy.errors import UnsupportedLayerError
from latdeploy.hw.connectivity import (
    CONNECTIVITY,
    ConvConnectivity,
    ConvGeometry,
    DenseConnectivity,
    connectivity_of,
    stored_taps,
)
from latdeploy.ir import AxonalDelay, Conv2d


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


def test_population_axons_are_the_input_pixels_of_a_core_and_discrete_axons_its_input_neurons():
    geometry = ConvGeometry((8, 6, 6), (4, 6, 6), (3, 3), padding=(1, 1))
    connectivity = ConvConnectivity(geometry)
    outputs = np.array([0, 1])  # channel 0, pixels (0, 0) and (0, 1): input rows 0..1, columns 0..2
    mask, _ = _torch_footprint(geometry, outputs)
    assert connectivity.axons(connectivity.inputs(outputs), population=False) == int(mask.sum()) == 8 * 2 * 3
    assert connectivity.axons(connectivity.inputs(outputs), population=True) == 2 * 3
    dense = DenseConnectivity(np.ones((2, 5)))
    assert dense.axons(dense.inputs(np.array([0])), population=True) == 5


def test_shared_kernels_store_equal_stride_phases_once():
    rng = np.random.default_rng(1)
    kernel = rng.integers(-9, 10, (4, 3, 3, 3)).astype(float)
    stride1 = ConvGeometry((3, 8, 8), (4, 8, 8), (3, 3), padding=(1, 1))
    stride2 = ConvGeometry((3, 8, 8), (4, 4, 4), (3, 3), stride=(2, 2), padding=(1, 1))
    assert stored_taps(kernel, stride1) == stored_taps(kernel, stride2) == 9
    # a 2x2 pool fused into the 3x3 conv: a 6x6 kernel at stride 2 whose four phases are the 3x3 kernel
    fused = np.repeat(np.repeat(kernel, 2, axis=2), 2, axis=3) / 4
    geometry = ConvGeometry((3, 8, 8), (4, 4, 4), (6, 6), stride=(2, 2), padding=(2, 2))
    assert stored_taps(fused, geometry) == 9
    connectivity = ConvConnectivity(geometry, fused)
    assert connectivity.synapses(np.arange(16), shared=True) == 1 * 3 * 9  # one output channel
    assert connectivity.synapses(np.arange(16), shared=False) == _torch_footprint(geometry, np.arange(16))[1]
    fused[0, 0, 1, 1] += 1  # phase (1, 1) now differs from the other three: stored apart
    assert stored_taps(fused, geometry) == 18
    dilated = ConvGeometry((3, 8, 8), (4, 4, 4), (3, 3), dilation=(2, 2))
    assert stored_taps(kernel, dilated) == 9


def test_tile_orders_take_a_spatial_tile_channel_by_channel():
    connectivity = ConvConnectivity(ConvGeometry((1, 4, 4), (2, 4, 4), (3, 3), padding=(1, 1)))
    assert connectivity.tiles() == [(2, 1), (2, 2), (4, 2)]
    order = connectivity.tile_order(2, 2)
    assert order[:8].tolist() == [0, 1, 4, 5, 16, 17, 20, 21]  # tile (0, 0): channel 0, then channel 1
    for candidate in connectivity.orders():
        assert sorted(candidate.tolist()) == list(range(connectivity.n_out))


def test_connectivity_registry_applies_to_subclasses_and_refuses_unknown_reshapes():
    class WideConv(Conv2d):
        pass

    node = WideConv("c", ("x",), weight=np.ones((2, 1, 3, 3), np.float32), in_channels=1, in_height=4, in_width=4)
    assert isinstance(connectivity_of(node, 16), ConvConnectivity)
    assert CONNECTIVITY.names() == ["Conv2d", "Conv2dInt", "Pool2d"]
    grow = AxonalDelay("grow", ("x",), neurons=3, steps=1)
    with pytest.raises(UnsupportedLayerError, match="AxonalDelay has no registered connectivity; registered: Conv2d"):
        connectivity_of(grow, 2)
