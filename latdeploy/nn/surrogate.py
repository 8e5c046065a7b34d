"""Surrogate gradients for the Heaviside spike function.

Forward: ``s = 1 if x >= 0 else 0`` (``x = v - threshold``). Backward: the
derivative of a smooth stand-in, selected by name, with a ``slope`` (sharpness):

* ``fast_sigmoid``: ``1 / (1 + slope |x|)^2`` (SuperSpike);
* ``atan``: ``(slope / 2) / (1 + (pi/2 slope x)^2)``;
* ``sigmoid``: ``slope sigma(slope x) (1 - sigma(slope x))``;
* ``triangle``: ``max(0, 1 - slope |x|)`` (piecewise linear, zero far from threshold).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


def _fast_sigmoid_grad(x: torch.Tensor, slope: float) -> torch.Tensor:
    return 1.0 / (1.0 + slope * x.abs()) ** 2


def _atan_grad(x: torch.Tensor, slope: float) -> torch.Tensor:
    return (slope / 2.0) / (1.0 + (math.pi / 2.0 * slope * x) ** 2)


def _sigmoid_grad(x: torch.Tensor, slope: float) -> torch.Tensor:
    sigma = torch.sigmoid(slope * x)
    return slope * sigma * (1.0 - sigma)


def _triangle_grad(x: torch.Tensor, slope: float) -> torch.Tensor:
    return torch.clamp(1.0 - slope * x.abs(), min=0.0)


SURROGATES: dict[str, Callable[[torch.Tensor, float], torch.Tensor]] = {
    "fast_sigmoid": _fast_sigmoid_grad,
    "atan": _atan_grad,
    "sigmoid": _sigmoid_grad,
    "triangle": _triangle_grad,
}


class _SpikeFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, name: str, slope: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.name = name
        ctx.slope = slope
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad_output * SURROGATES[ctx.name](x, ctx.slope), None, None


def spike_function(x: torch.Tensor, surrogate: str = "fast_sigmoid", slope: float = 5.0) -> torch.Tensor:
    """Return Heaviside(x) (1.0 where ``x >= 0``) with a surrogate gradient.

    Raises:
        KeyError: if ``surrogate`` is not a key of :data:`SURROGATES`.
    """
    if surrogate not in SURROGATES:
        raise KeyError(f"unknown surrogate {surrogate!r}; choose one of {sorted(SURROGATES)}")
    return _SpikeFunction.apply(x, surrogate, slope)
