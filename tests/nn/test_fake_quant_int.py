"""Lava's fixed-point rules in torch equal the fixed-point simulator, wraps and saturations included."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.ir import DenseInt, LIFInt
from latdeploy.ir.conv import Conv2dInt
from latdeploy.ir.neurons_ext import MultiThresholdLIFInt, SoftResetLIFInt, TTFSInt
from latdeploy.nn.fake_quant_int import conv_current, dense_current, neuron_forward
from latdeploy.sim.fixed import FIXED_KERNELS, lava_weights

KINDS = ("lif", "soft", "ttfs", "multi_zero", "multi_subtract")


def _neuron(kind: str, size: int, data: st.DataObject, vth_high: int) -> object:
    fields = {
        "du": data.draw(st.sampled_from([-1, 0, 1, 2047, 4094, 4095]) | st.integers(-1, 4095)),
        "dv": data.draw(st.sampled_from([0, 1, 2048, 4095, 4096]) | st.integers(0, 4096)),
        "bias_mant": np.array(data.draw(st.lists(st.integers(-4096, 4095), min_size=size, max_size=size))),
        "bias_exp": data.draw(st.integers(0, 7)),
    }
    if kind == "lif":
        return LIFInt("n", ("d",), vth=data.draw(st.integers(0, vth_high)), **fields)
    vth = data.draw(st.integers(1, vth_high))
    if kind == "soft":
        return SoftResetLIFInt("n", ("d",), vth=vth, **fields)
    if kind == "ttfs":
        return TTFSInt("n", ("d",), vth=vth, **fields)
    levels = data.draw(st.integers(1, 4))
    vth = min(vth, ((1 << 23) - 1) // (levels << 6))
    reset = "zero" if kind == "multi_zero" else "subtract"
    return MultiThresholdLIFInt("n", ("d",), vth=vth, levels=levels, reset=reset, **fields)


def _check_neuron(neuron: object, current: np.ndarray) -> None:
    """Torch integer forward of ``neuron`` on ``current`` ``[B, T, N]`` equals the simulator's kernel."""
    trace, _ = FIXED_KERNELS.get(type(neuron))(neuron, current.astype(np.int32))
    scale = 3.0  # any positive scale: only the surrogate's units and v_pre's float units depend on it
    payloads, v_pre = neuron_forward(
        torch.from_numpy(current.astype(np.float64)).transpose(0, 1),
        torch.from_numpy(neuron.bias_mant.astype(np.float64)),
        neuron,
        scale,
    )
    assert np.array_equal(payloads.transpose(0, 1).numpy(), trace.spikes)
    assert np.array_equal((v_pre * 64 * scale).round().transpose(0, 1).numpy(), trace.v_pre)


@settings(max_examples=60)
@given(
    data=st.data(),
    kind=st.sampled_from(KINDS),
    n_in=st.integers(1, 6),
    n_out=st.integers(1, 5),
    steps=st.integers(1, 6),
    payload=st.sampled_from([1, 1, 3]),
)
def test_dense_and_neuron_equal_the_fixed_point_simulator(data, kind, n_in, n_out, steps, payload):
    """Random Dense weights (any sign mode, 1..8 bits, weight_exp -8..7: int32 and 24-bit wraps
    reachable), graded payloads, every neuron kind with random decays, bias, threshold."""
    weight = np.array(data.draw(st.lists(st.integers(-256, 254), min_size=n_in * n_out, max_size=n_in * n_out)))
    synapse = DenseInt(
        "d",
        ("input",),
        weight=weight.reshape(n_out, n_in),
        weight_exp=data.draw(st.sampled_from([-8, -3, 0, 4, 7]) | st.integers(-8, 7)),
        num_weight_bits=data.draw(st.integers(1, 8)),
    )
    spikes = np.array(
        data.draw(st.lists(st.integers(0, payload), min_size=2 * steps * n_in, max_size=2 * steps * n_in))
    )
    spikes = spikes.reshape(2, steps, n_in).astype(np.uint8)
    expected = FIXED_KERNELS.get(DenseInt)(synapse, spikes)
    integer = torch.from_numpy(lava_weights(synapse.weight, synapse.num_weight_bits).astype(np.float64))
    current = dense_current(torch.from_numpy(spikes.astype(np.float64)).transpose(0, 1), integer, synapse)
    assert np.array_equal(current.transpose(0, 1).numpy(), expected)
    _check_neuron(_neuron(kind, n_out, data, data.draw(st.sampled_from([1 << 17, 200, 3]))), expected)


@settings(max_examples=20)
@given(data=st.data(), groups=st.sampled_from([1, 2]), stride=st.integers(1, 2), padding=st.integers(0, 1))
def test_conv_equals_the_fixed_point_simulator(data, groups, stride, padding):
    shape = (2 * data.draw(st.integers(1, 2)), 2 // groups, 3, 3)
    size = int(np.prod(shape))
    weight = np.array(data.draw(st.lists(st.integers(-256, 254), min_size=size, max_size=size))).reshape(shape)
    synapse = Conv2dInt(
        "d",
        ("input",),
        weight=weight,
        groups=groups,
        in_channels=2,
        in_height=5,
        in_width=4,
        stride_h=stride,
        stride_w=stride,
        padding_h=padding,
        padding_w=padding,
    )
    spikes = np.array(data.draw(st.lists(st.integers(0, 1), min_size=2 * 3 * 40, max_size=2 * 3 * 40)), np.uint8)
    spikes = spikes.reshape(2, 3, 40)
    expected = FIXED_KERNELS.get(Conv2dInt)(synapse, spikes)
    images = torch.from_numpy(spikes.astype(np.float64)).reshape(6, 2, 5, 4)
    current = conv_current(images, torch.from_numpy(weight.astype(np.float64)), synapse)
    assert np.array_equal(current.reshape(2, 3, -1).numpy(), expected)


def test_overflow_corners_wrap_u_and_saturate_v_as_the_simulator():
    """u wraps at 24 bits and v saturates on the very steps the simulator says."""
    current = np.array([[[1 << 17, 1 << 17, -(1 << 17), 5, 1 << 24]]], np.int64).transpose(0, 2, 1)
    for kind in (LIFInt, SoftResetLIFInt):
        neuron = kind("n", ("d",), du=-1, dv=0, vth=(1 << 17) - 1, bias_mant=np.array([4095]), bias_exp=7)
        trace, overflow = FIXED_KERNELS.get(kind)(neuron, current.astype(np.int32))
        assert overflow["u_wraps"] > 0 and overflow["v_saturations"] > 0
        _check_neuron(neuron, current)


def test_gradients_reach_weights_and_bias_through_the_integer_forward():
    weight = torch.tensor([[0.5, -0.25]], dtype=torch.float64, requires_grad=True)
    bias = torch.tensor([0.1], dtype=torch.float64, requires_grad=True)
    synapse = DenseInt("d", ("input",), weight=np.array([[128, -64]]))
    neuron = LIFInt("n", ("d",), vth=100, bias_mant=np.array([26]))
    integer = weight * 256 + (torch.tensor([[128.0, -64.0]], dtype=torch.float64) - weight * 256).detach()
    current = dense_current(torch.tensor([[[1.0, 1.0]], [[1.0, 0.0]]], dtype=torch.float64), integer, synapse)
    payloads, v_pre = neuron_forward(current, bias * 256 + (26 - bias * 256).detach(), neuron, 256.0)
    v_pre.sum().backward()
    assert weight.grad is not None and weight.grad.abs().sum() > 0
    assert bias.grad is not None and bias.grad.abs().sum() > 0
