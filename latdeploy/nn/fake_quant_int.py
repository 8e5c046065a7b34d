"""Lava's fixed-point rules in torch, with straight-through gradients, for quantization-aware fine-tuning.

Every function here computes, in its forward pass, exactly what the fixed-point simulator
(:mod:`latdeploy.sim.fixed`, bit-identical to Lava's ``fixed_pt`` models) computes for the
integer node it is given: integer values held in float64 tensors (exact below 2**53),
Lava's casts and wraps included (int32 ports, the 24-bit wrap of ``u``, Conv's 24-bit
``signed_clamp``, the clip of ``v``), decays rounded toward zero, the floor of a negative
``weight_exp``, and each neuron kind's integer threshold test and reset. The backward pass
treats every rounding, wrap and shift as the identity (straight-through) and each
threshold test through the neuron's surrogate gradient in float units (``V = v / (64 scale)``),
so gradients reach the float weights and biases the integer values were quantized from.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from latdeploy.ir import DenseInt, LIFInt, Node
from latdeploy.ir.conv import Conv2dInt
from latdeploy.ir.neurons_ext import MultiThresholdLIFInt, SoftResetLIFInt, TTFSInt
from latdeploy.nn.surrogate import spike_function

DECAY_UNITY = 4096.0
ACTIVATION_SCALE = 64.0  # a << 6, vth << 6
STATE_LIMIT = float(1 << 23)
CONV_WRAP_BITS = 24


def straight_through(value: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """Return ``exact`` in the forward pass with the gradient of ``value``."""
    return value + (exact - value).detach()


def wrap(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Return integer-valued ``x`` wrapped to signed ``bits`` bits (two's complement), straight-through."""
    base = float(1 << bits)
    return straight_through(x, torch.remainder(x + base / 2, base) - base / 2)


def trunc_decay(state: torch.Tensor, factor: float) -> torch.Tensor:
    """Return Lava's decay ``sign(p) * (|p| >> 12)`` of ``p = state * factor``, straight-through."""
    scaled = state * (factor / DECAY_UNITY)
    return straight_through(scaled, torch.trunc(scaled))


def weight_units(weight: torch.Tensor, integer: torch.Tensor, units_per_weight: float) -> torch.Tensor:
    """Return the integer weights ``integer`` carrying the gradient of ``weight * units_per_weight``."""
    return straight_through(weight.to(torch.float64) * units_per_weight, integer.to(torch.float64))


def dense_current(spikes: torch.Tensor, weight: torch.Tensor, node: DenseInt) -> torch.Tensor:
    """Return Lava Dense's output ``int32(acc << weight_exp)`` for payloads ``spikes`` ``[..., in]``.

    ``weight`` ``[out, in]`` holds the integer weights (straight-through, see :func:`weight_units`).
    """
    accumulated = F.linear(spikes.to(torch.float64), weight)
    shifted = accumulated * 2.0**node.weight_exp
    if node.weight_exp < 0:
        shifted = straight_through(shifted, torch.floor(shifted))
    return wrap(shifted, 32)


def conv_current(spikes: torch.Tensor, weight: torch.Tensor, node: Conv2dInt) -> torch.Tensor:
    """Return Lava Conv's output (24-bit ``signed_clamp`` of the exact sums) for ``spikes`` ``[N, C, H, W]``."""
    summed = F.conv2d(
        spikes.to(torch.float64),
        weight,
        stride=(node.stride_h, node.stride_w),
        padding=(node.padding_h, node.padding_w),
        groups=node.groups,
    )
    return wrap(wrap(summed, 32), CONV_WRAP_BITS)


def _wrap_u24(summed: torch.Tensor) -> torch.Tensor:
    """Lava's single 24-bit wrap of ``u`` (above 2^23: minus 2^24; at or below -2^23: plus 2^24)."""
    wrapped = torch.where(
        summed > STATE_LIMIT,
        summed - 2 * STATE_LIMIT,
        torch.where(summed <= -STATE_LIMIT, summed + 2 * STATE_LIMIT, summed),
    )
    return straight_through(summed, wrapped)


def neuron_forward(
    current: torch.Tensor,
    bias: torch.Tensor,
    node: Node,
    scale: float,
    surrogate: str = "fast_sigmoid",
    slope: float = 5.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run integer neuron ``node`` on integer input ``current`` ``[T, B, N]`` from zero state.

    ``bias`` ``[N]`` holds ``bias_mant`` (straight-through); ``scale`` is the quantizer's
    ``V_int / V_float``, used only to express the surrogate's argument and ``v_pre`` in float units.

    Returns:
        ``(payloads, v_pre)`` ``[T, B, N]``: the fixed-point simulator's spikes (levels for a
        multi-threshold neuron) and its ``v`` before reset divided by ``64 * scale``.

    Raises:
        TypeError: for a node that is not one of the integer CUBA neurons.
    """
    if not isinstance(node, (LIFInt, SoftResetLIFInt, TTFSInt, MultiThresholdLIFInt)):
        raise TypeError(f"node {node.name!r}: {type(node).__name__} is not an integer CUBA neuron")
    decay_u, decay_v = DECAY_UNITY - (node.du + 1), DECAY_UNITY - node.dv
    theta = float(node.vth) * ACTIVATION_SCALE
    unit = ACTIVATION_SCALE * scale
    bias_term = bias.to(torch.float64) * 2.0**node.bias_exp
    u = torch.zeros_like(current[0], dtype=torch.float64)
    v = torch.zeros_like(u)
    alive = torch.ones_like(u)
    payloads, v_pres = [], []
    for step in range(current.shape[0]):
        shifted = wrap(current[step].to(torch.float64) * ACTIVATION_SCALE, 32)
        u = _wrap_u24(wrap(trunc_decay(u, decay_u) + shifted, 32))
        updated = wrap(wrap(trunc_decay(v, decay_v) + u, 32) + bias_term, 32)
        v = torch.clamp(updated, -STATE_LIMIT + 1, STATE_LIMIT - 1)
        if isinstance(node, LIFInt):  # Lava's LIF: v > vth << 6, reset to zero
            spike = spike_function((v - theta - 1) / unit, surrogate, slope)
            v_pres.append(v)
            payload, v = spike, v * (1 - spike)
        elif isinstance(node, SoftResetLIFInt):
            spike = spike_function((v - theta) / unit, surrogate, slope)
            v_pres.append(v)
            payload, v = spike, v - spike * theta
        elif isinstance(node, TTFSInt):
            v = v * alive
            spike = spike_function((v - theta) / unit, surrogate, slope) * alive
            v_pres.append(v)
            payload, v, alive = spike, v * (1 - spike), alive * (1 - spike)
        else:
            crossed = [spike_function((v - k * theta) / unit, surrogate, slope) for k in range(1, node.levels + 1)]
            payload = torch.stack(crossed).sum(dim=0)
            v_pres.append(v)
            v = v * (1 - crossed[0]) if node.reset == "zero" else v - payload * theta
        payloads.append(payload)
    return torch.stack(payloads), torch.stack(v_pres) / unit
