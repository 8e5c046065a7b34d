"""The fixed-point conv kernel against lava-nc's own ``Conv`` arithmetic (``lava.proc.conv.utils``)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from lava.proc.conv import utils as lava_conv

from latdeploy.backends.lava.conv import lava_conv_weight
from latdeploy.ir import AxonalDelay, Conv2dInt
from latdeploy.sim.fixed_conv import axonal_delay_int, conv2d_int


def _lava_reference(node: Conv2dInt, spikes: np.ndarray, message_bits: int) -> np.ndarray:
    """What ``PyConvModelFixed.run_spk`` computes for each (sample, step): input as bool (binary,
    ``num_message_bits = 0``) or as payloads (graded), conv, signed_clamp 24."""
    weight = lava_conv_weight(node.weight)
    out = []
    for image in spikes.reshape(-1, *node.in_shape):
        s_in = image.transpose(2, 1, 0)  # (C, H, W) -> Lava's (X, Y, C)
        s_in = s_in if message_bits else s_in.astype(bool)
        a = lava_conv.conv(
            s_in, weight, weight.shape[1:3], (node.stride_w, node.stride_h), (node.padding_w, node.padding_h),
            (1, 1), node.groups,
        )  # fmt: skip
        out.append(lava_conv.signed_clamp(a, bits=24).transpose(2, 1, 0).reshape(-1))
    return np.array(out).reshape(*spikes.shape[:2], -1)


@st.composite
def convs(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    groups = draw(st.integers(1, 3))
    channels, out_channels = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    height, width = kernel[0] + draw(st.integers(0, 4)), kernel[1] + draw(st.integers(0, 4))
    node = Conv2dInt(
        "conv",
        ("input",),
        weight=rng.integers(-256, 256, (out_channels, channels // groups, *kernel)),
        in_channels=channels,
        in_height=height,
        in_width=width,
        stride_h=draw(st.integers(1, 3)),
        stride_w=draw(st.integers(1, 3)),
        padding_h=draw(st.integers(0, 2)),
        padding_w=draw(st.integers(0, 2)),
        groups=groups,
    )
    payload = draw(st.sampled_from([1, 3, 255]))  # graded: the runner gives Lava's Conv num_message_bits
    spikes = rng.integers(0, payload + 1, (2, 3, channels * height * width)) * (rng.random((2, 3, 1)) < 0.8)
    return node, spikes.astype(np.int32), payload.bit_length() if payload > 1 else 0


@given(case=convs())
@settings(max_examples=60)
def test_conv_kernel_equals_lavas_conv_arithmetic(case):
    node, spikes, message_bits = case
    result = conv2d_int(node, spikes)
    assert result.dtype == np.int32 and result.shape == (2, 3, node.size)
    assert np.array_equal(result, _lava_reference(node, spikes, message_bits))


def test_conv_sum_wraps_at_24_bits_as_lava():
    """-256 x 130 channels x 16 x 16 taps = -8519680 < -2**23: Lava's signed_clamp wraps it."""
    node = Conv2dInt(
        "conv", ("input",), weight=np.full((1, 130, 16, 16), -256), in_channels=130, in_height=16, in_width=16
    )
    spikes = np.ones((1, 1, node.input_size()), np.uint8)
    result = conv2d_int(node, spikes)
    assert int(result[0, 0, 0]) == -8519680 + (1 << 24)
    assert np.array_equal(result, _lava_reference(node, spikes, 0))


def test_axonal_delay_shifts_along_time_and_drops_the_tail():
    spikes = np.arange(2 * 5 * 3).reshape(2, 5, 3)
    shifted = axonal_delay_int(AxonalDelay("d", ("x",), neurons=3, steps=2), spikes)
    assert np.array_equal(shifted[:, 2:], spikes[:, :3]) and not shifted[:, :2].any()
    assert not axonal_delay_int(AxonalDelay("d", ("x",), neurons=3, steps=6), spikes).any()
