"""Lava's fixed-point rules in torch, with straight-through gradients, for quantization-aware fine-tuning.

Every function here computes, in its forward pass, exactly what the fixed-point simulator
(:mod:`latdeploy.sim.fixed`, bit-identical to Lava's ``fixed_pt`` models) computes for the
integer node it is given: integer values held in float64 tensors (exact below 2**53),
Lava's casts and wraps included (int32 ports, the 24-bit wrap of ``u``, Conv's 24-bit
``signed_clamp``, the clip of ``v``), decays rounded toward zero, the floor of a negative
``weight_exp``, and each neuron kind's integer threshold test and reset (the kind's firing rule,
:class:`latdeploy.neurons.base.NeuronKind`, run on :class:`TorchOps`). The backward pass
treats every rounding, wrap and shift as the identity (straight-through) and each
threshold test through the neuron's surrogate gradient in float units (``V = v / (64 scale)``),
so gradients reach the float weights and biases the integer values were quantized from.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from latdeploy.hw.arithmetic import LOIHI
from latdeploy.ir import DenseInt, Node
from latdeploy.ir.conv import Conv2dInt
from latdeploy.neurons.base import FiringOps
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.nn.surrogate import spike_function

DECAY_UNITY = float(LOIHI.decay_unity)
ACTIVATION_SCALE = float(1 << LOIHI.activation_shift)  # a << 6
STATE_LIMIT = float(LOIHI.state_limit)
CONV_WRAP_BITS = LOIHI.state_bits


class TorchOps(FiringOps):
    """torch: the threshold test as a spike with a surrogate gradient in float units.

    ``reached(v, theta)`` is ``spike_function((v - theta) / unit)`` (``v - theta - 1`` for ``>``:
    the membrane is integer), ``unit`` being the integer membrane per float unit (``64 * scale``).
    """

    def __init__(self, comparison: str, unit: float, surrogate: str = "fast_sigmoid", slope: float = 5.0) -> None:
        super().__init__(comparison)
        self.unit, self.surrogate, self.slope = unit, surrogate, slope

    def reached(self, v: torch.Tensor, theta: float) -> torch.Tensor:
        """Return 1.0 where ``v`` crosses ``theta`` (surrogate gradient), else 0.0."""
        offset = v - theta - 1 if self.comparison == ">" else v - theta
        return spike_function(offset / self.unit, self.surrogate, self.slope)

    def ones_like(self, v: torch.Tensor) -> torch.Tensor:
        """Return ``torch.ones_like(v)``."""
        return torch.ones_like(v)


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
    """Lava's single 24-bit wrap of ``u`` (above 2^23: minus 2^24; at or below -2^23: plus 2^24), straight-through."""
    wrapped = torch.where(
        summed > STATE_LIMIT,
        summed - 2 * STATE_LIMIT,
        torch.where(summed <= -STATE_LIMIT, summed + 2 * STATE_LIMIT, summed),
    )
    return straight_through(summed, wrapped)


def cuba_step(
    u: torch.Tensor, v: torch.Tensor, current: torch.Tensor, decay_u: float, decay_v: float, bias: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of Lava's fixed-point CUBA update on float64 integer state, straight-through.

    ``decay_u = 2**12 - (du + 1)``, ``decay_v = 2**12 - dv``, ``bias`` = ``bias_mant << bias_exp``.

    Returns:
        ``(u, v)``: ``u`` after the 24-bit wrap, ``v`` saturated (before any firing rule).
    """
    shifted = wrap(current.to(torch.float64) * ACTIVATION_SCALE, 32)
    u = _wrap_u24(wrap(trunc_decay(u, decay_u) + shifted, 32))
    updated = wrap(wrap(trunc_decay(v, decay_v) + u, 32) + bias, 32)
    return u, torch.clamp(updated, -float(LOIHI.v_max), float(LOIHI.v_max))


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
        UnsupportedLayerError: for a node of no registered neuron kind.
    """
    kind = NEURON_KINDS.kind_of(node)
    decay_u, decay_v = DECAY_UNITY - (node.du + 1), DECAY_UNITY - node.dv
    theta = float(LOIHI.theta(node.vth))
    unit = ACTIVATION_SCALE * scale
    ops = TorchOps(kind.comparison, unit, surrogate, slope)
    bias_term = bias.to(torch.float64) * 2.0**node.bias_exp
    u = torch.zeros_like(current[0], dtype=torch.float64)
    v = torch.zeros_like(u)
    state = kind.start(ops, u)
    payloads, v_pres = [], []
    for step in range(current.shape[0]):
        u, v = cuba_step(u, v, current[step], decay_u, decay_v, bias_term)
        firing = kind.fire(ops, v, theta, state, node)
        v_pres.append(firing.v_pre)
        payloads.append(firing.payload)
        v, state = firing.v, firing.state
    return torch.stack(payloads), torch.stack(v_pres) / unit
