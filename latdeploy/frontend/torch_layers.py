"""Converters of torch's stateless conv-net layers (registered in :data:`latdeploy.frontend.converters.CONVERTERS`).

``Conv2d`` -> :class:`~latdeploy.ir.conv.Conv2d`; ``AvgPool2d``/``SumPool2d`` ->
:class:`~latdeploy.ir.conv.Pool2d`; ``SpikeTimeMaxPool2d`` -> a sum pool and a
threshold-1 integrate-and-fire neuron (fires when any input of the window fires:
exactly a max over binary spikes); ``Flatten`` -> nothing (IR values are flat in C
order already); ``BatchNorm1d/2d`` -> folded into the preceding ``Linear``/``Conv2d``
(weights scaled, the shift becomes neuron bias); ``AxonalDelay`` ->
:class:`~latdeploy.ir.conv.AxonalDelay`; ``Identity`` and ``Dropout`` (identity at
inference) -> nothing. Layer biases become neuron bias (needs ``current_decay = 1``).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.converters import ConversionState, register_converter
from latdeploy.frontend.sources import ParameterSource
from latdeploy.ir import LIF, Dense
from latdeploy.ir.conv import AxonalDelay, Conv2d, Pool2d
from latdeploy.nn.layers import AxonalDelay as TorchAxonalDelay
from latdeploy.nn.layers import SpikeTimeMaxPool2d, SumPool2d, fold_batchnorm


def _image_shape(state: ConversionState, path: str, what: str) -> tuple[int, int, int]:
    if len(state.shape) != 3:
        raise UnsupportedLayerError(f"layer {path!r}: {what} needs a (C, H, W) input, gets shape {state.shape}")
    return state.shape  # type: ignore[return-value]


def _pair(value: int | tuple[int, ...], path: str, what: str) -> tuple[int, int]:
    if isinstance(value, str):
        raise UnsupportedLayerError(f"layer {path!r}: {what}={value!r} is not supported; give integers")
    pair = (int(value), int(value)) if isinstance(value, int) else tuple(int(v) for v in value)
    if len(pair) != 2:
        raise UnsupportedLayerError(f"layer {path!r}: {what} must be an int or a pair, got {value!r}")
    return pair  # type: ignore[return-value]


@register_converter(nn.Conv2d)
def convert_conv2d(module: nn.Conv2d, state: ConversionState, path: str) -> None:
    """``Conv2d`` (zero padding, no dilation) -> :class:`Conv2d` (made from ``weight``, and a plain pool before
    it); its bias goes to the next neuron."""
    channels, height, width = _image_shape(state, path, "Conv2d")
    if module.in_channels != channels:
        raise UnsupportedLayerError(f"layer {path!r}: Conv2d expects {module.in_channels} channels, gets {channels}")
    if _pair(module.dilation, path, "dilation") != (1, 1) or module.padding_mode != "zeros":
        raise UnsupportedLayerError(
            f"layer {path!r}: Conv2d with dilation {module.dilation} / padding_mode {module.padding_mode!r} "
            "is not supported (dilation 1, zero padding only)"
        )
    stride = _pair(module.stride, path, "stride")
    padding = _pair(module.padding, path, "padding")
    node = Conv2d(
        state.name("conv"),
        (state.current,),
        weight=module.weight.detach().cpu().numpy(),
        in_channels=channels,
        in_height=height,
        in_width=width,
        stride_h=stride[0],
        stride_w=stride[1],
        padding_h=padding[0],
        padding_w=padding[1],
        groups=module.groups,
    )
    state.add(node, node.out_shape, ParameterSource(path, module, weight=module.weight, pool=state.fused_pool()))
    if module.bias is not None:
        state.add_bias(module.bias.detach().cpu().numpy().reshape(-1, 1, 1), path)


def pool_node(state: ConversionState, path: str, module: nn.Module, mode: str) -> Pool2d:
    """Return the :class:`Pool2d` (``mode``) of a torch-style pooling ``module`` at ``path`` on the
    current (C, H, W) input: ``kernel_size``, ``stride`` (None: the kernel) and ``padding`` (absent: 0).
    Not added to ``state``.

    Raises:
        UnsupportedLayerError: for a non-(C, H, W) input or a size that is not an int or a pair.
    """
    channels, height, width = _image_shape(state, path, type(module).__name__)
    kernel = _pair(module.kernel_size, path, "kernel_size")
    stride = _pair(module.stride if module.stride is not None else module.kernel_size, path, "stride")
    padding = _pair(getattr(module, "padding", 0), path, "padding")
    return Pool2d(
        state.name("pool"),
        (state.current,),
        in_channels=channels,
        in_height=height,
        in_width=width,
        kernel_h=kernel[0],
        kernel_w=kernel[1],
        stride_h=stride[0],
        stride_w=stride[1],
        padding_h=padding[0],
        padding_w=padding[1],
        mode=mode,
    )


@register_converter(nn.AvgPool2d)
def convert_avg_pool(module: nn.AvgPool2d, state: ConversionState, path: str) -> None:
    """``AvgPool2d`` (floor mode, zero padding counted, no divisor override) -> :class:`Pool2d` ``"avg"``."""
    if module.ceil_mode or module.divisor_override is not None:
        raise UnsupportedLayerError(f"layer {path!r}: AvgPool2d with ceil_mode or divisor_override is not supported")
    if not module.count_include_pad and _pair(module.padding, path, "padding") != (0, 0):
        raise UnsupportedLayerError(f"layer {path!r}: AvgPool2d with padding needs count_include_pad=True")
    node = pool_node(state, path, module, "avg")
    state.add(node, node.out_shape, ParameterSource(path, module))


@register_converter(SumPool2d)
def convert_sum_pool(module: SumPool2d, state: ConversionState, path: str) -> None:
    """``SumPool2d`` -> :class:`Pool2d` ``"sum"``."""
    node = pool_node(state, path, module, "sum")
    state.add(node, node.out_shape, ParameterSource(path, module))


@register_converter(SpikeTimeMaxPool2d)
def convert_spike_max_pool(module: SpikeTimeMaxPool2d, state: ConversionState, path: str) -> None:
    """``SpikeTimeMaxPool2d`` -> sum pool + ``LIF(threshold=1)`` integrate-and-fire (OR of the window).

    Raises:
        UnsupportedLayerError: if its input is not a neuron layer's (binary) spikes.
    """
    if state.previous.kind not in ("neuron", "input", "delay"):
        raise UnsupportedLayerError(f"layer {path!r}: SpikeTimeMaxPool2d must act on spikes (after a neuron)")
    pool = pool_node(state, path, module, "sum")
    state.add(pool, pool.out_shape, ParameterSource(path, module))
    neuron = LIF(state.name("lif"), (pool.name,), threshold=1.0, bias=np.zeros(pool.size, np.float32))
    state.add(neuron, pool.out_shape, ParameterSource(path, module))


@register_converter(nn.Flatten)
def convert_flatten(module: nn.Flatten, state: ConversionState, path: str) -> None:
    """``Flatten`` (from dimension 1 on) -> no node: IR values are flat in C order already."""
    if module.start_dim != 1 or module.end_dim != -1:
        raise UnsupportedLayerError(f"layer {path!r}: only Flatten(start_dim=1, end_dim=-1) is supported")
    state.shape = (math.prod(state.shape),)


@register_converter(nn.Identity, nn.Dropout)
def convert_identity(module: nn.Module, state: ConversionState, path: str) -> None:
    """``Identity`` / ``Dropout`` (identity at inference) -> no node."""


@register_converter(nn.BatchNorm1d, nn.BatchNorm2d)
def convert_batchnorm(module: nn.BatchNorm1d | nn.BatchNorm2d, state: ConversionState, path: str) -> None:
    """Fold the batch norm into the preceding ``Dense``/``Conv2d`` and the pending bias.

    Raises:
        UnsupportedLayerError: if it does not directly follow a ``Linear`` or ``Conv2d``.
    """
    previous = state.previous
    if not isinstance(previous, (Dense, Conv2d)) or previous.name != state.current:
        raise UnsupportedLayerError(
            f"layer {path!r}: {type(module).__name__} must directly follow a Linear or Conv2d to be folded"
        )
    try:
        weight, shift = fold_batchnorm(torch.from_numpy(previous.weight), None, module)
    except ValueError as error:
        raise UnsupportedLayerError(f"layer {path!r}: {error}") from error
    state.nodes[-1] = previous.replace(weight=weight.numpy())
    if previous.name in state.sources:
        state.sources[previous.name] = state.sources[previous.name].folding(path)
    scale = (module.weight.detach() if module.weight is not None else torch.ones(module.num_features)) / torch.sqrt(
        module.running_var + module.eps
    )
    channel = (-1,) + (1,) * (len(state.shape) - 1)
    if state.pending_bias is not None:
        state.pending_bias = state.pending_bias * scale.numpy().reshape(channel).astype(np.float32)
    state.add_bias(shift.numpy().reshape(channel), path)


@register_converter(TorchAxonalDelay)
def convert_axonal_delay(module: TorchAxonalDelay, state: ConversionState, path: str) -> None:
    """``AxonalDelay(steps)`` -> :class:`AxonalDelay` (nothing for 0 steps).

    Raises:
        UnsupportedLayerError: if it does not act on spikes.
    """
    if module.steps == 0:
        return
    if state.previous.kind not in ("neuron", "input", "delay"):
        raise UnsupportedLayerError(f"layer {path!r}: AxonalDelay must act on spikes (after a neuron or the input)")
    state.add(
        AxonalDelay(state.name("delay"), (state.current,), neurons=math.prod(state.shape), steps=module.steps),
        state.shape,
        ParameterSource(path, module),
    )
