"""Spiking neurons of latency-coded SNNs, in float, as latdeploy deploys them.

Every neuron here is current based (CUBA) and runs time-first: ``forward`` takes
the synaptic input ``I`` of shape ``[T, B, *shape]`` and returns ``(spikes,
v_pre)`` of the same shape, ``v_pre`` being the membrane potential of each step
before the reset. The shared sub-threshold update is Loihi's CUBA LIF in float::

    u[t] = u[t-1] (1 - current_decay) + I[t]         (u[t] = I[t] when current_decay = 1)
    v[t] = v[t-1] (1 - voltage_decay) + u[t] + bias   (no leak when voltage_decay = 0)

``current_decay = 1, voltage_decay = 0`` is the integrate-and-fire neuron. The
threshold test is always greater-or-equal in float (``v[t] >= threshold``); the
integer versions keep it exactly on their grid (see :mod:`latdeploy.passes.quantize`).
Spikes use a surrogate gradient chosen by name (:data:`latdeploy.nn.surrogate.SURROGATES`).

``size`` is the number of neurons (``int``) or the shape of a layer's output
(``(C, H, W)`` after a convolution); ``bias`` (learnable, optional) holds one value
per neuron of that shape. ``.shape`` is the tuple, ``.size`` the neuron count.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from latdeploy.nn.surrogate import SURROGATES, spike_function

RESETS = ("zero", "subtract")

# one step of a neuron kind: (spikes, v before the reset, v after it, the kind's extra state)
_Step = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]


def _as_shape(size: int | tuple[int, ...]) -> tuple[int, ...]:
    shape = (int(size),) if isinstance(size, int) else tuple(int(d) for d in size)
    if not shape or min(shape) < 1:
        raise ValueError(f"size must be a positive int or a tuple of positive ints, got {size!r}")
    return shape


class CubaNeuron(nn.Module):
    """Parameters and the sub-threshold update shared by every neuron kind.

    A kind's module subclasses it and implements :meth:`_fire` (and :meth:`_start` for extra
    per-sample state); :mod:`latdeploy.neurons` declares the kind around it.
    """

    def __init__(
        self,
        size: int | tuple[int, ...],
        threshold: float = 1.0,
        current_decay: float = 1.0,
        voltage_decay: float = 0.0,
        bias: bool = True,
        surrogate: str = "fast_sigmoid",
        surrogate_slope: float = 5.0,
    ) -> None:
        super().__init__()
        for name, value in (("current_decay", current_decay), ("voltage_decay", voltage_decay)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value}")
        if not threshold > 0:
            raise ValueError(f"threshold must be > 0, got {threshold}")
        self.shape = _as_shape(size)
        self.size = math.prod(self.shape)
        self.threshold = float(threshold)
        self.current_decay = float(current_decay)
        self.voltage_decay = float(voltage_decay)
        self.surrogate = surrogate
        self.surrogate_slope = float(surrogate_slope)
        if surrogate not in SURROGATES:
            raise ValueError(f"unknown surrogate {surrogate!r}; choose one of {sorted(SURROGATES)}")
        self.bias = nn.Parameter(torch.zeros(self.shape)) if bias else None

    def _check(self, current: torch.Tensor) -> None:
        if current.dim() < 3 or tuple(current.shape[2:]) != self.shape:
            raise ValueError(f"expected input [T, B, {', '.join(map(str, self.shape))}], got {list(current.shape)}")

    def _integrate(self, u: torch.Tensor, v: torch.Tensor, current: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(u, v)`` after one step of CUBA integration of ``current``."""
        u = current if self.current_decay == 1.0 else u * (1 - self.current_decay) + current
        v = v if self.voltage_decay == 0.0 else v * (1 - self.voltage_decay)
        v = v + u if self.bias is None else v + u + self.bias
        return u, v

    def _spike(self, x: torch.Tensor) -> torch.Tensor:
        return spike_function(x, self.surrogate, self.surrogate_slope)

    def _start(self, like: torch.Tensor) -> torch.Tensor | None:
        """Return the kind's extra per-sample state (``None``: none), shaped as ``like``."""
        return None

    def _fire(self, v: torch.Tensor, state: torch.Tensor | None) -> _Step:
        """Return ``(s, v_pre, v, state)`` of one step: the spikes, the potential before the reset,
        the potential after it and the next extra state."""
        raise NotImplementedError

    def forward(self, current: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Integrate ``current`` ``[T, B, *shape]`` from zero state.

        Returns:
            ``(spikes, v_pre)``, both ``[T, B, *shape]``: the spikes (as the class
            docstring says) and the membrane potential of each step before the reset.

        Raises:
            ValueError: if ``current`` does not end in the layer's shape.
        """
        self._check(current)
        u = torch.zeros_like(current[0])
        v = torch.zeros_like(current[0])
        state = self._start(current[0])
        spikes, v_pre = [], []
        for step in range(current.shape[0]):
            u, v = self._integrate(u, v, current[step])
            s, before_reset, v, state = self._fire(v, state)
            v_pre.append(before_reset)
            spikes.append(s)
        return torch.stack(spikes), torch.stack(v_pre)


def check_reset(reset: str) -> str:
    """Return ``reset`` if it is one of :data:`RESETS`.

    Raises:
        ValueError: naming the allowed values otherwise.
    """
    if reset not in RESETS:
        raise ValueError(f"reset must be one of {RESETS}, got {reset!r}")
    return reset


class LIF(CubaNeuron):
    """Current-based leaky integrate-and-fire neuron that may fire on many steps.

    Per step (module docstring for ``u`` and ``v``)::

        s[t] = v[t] >= threshold                    (greater-or-equal)
        reset="zero":     v[t] <- 0 where s[t]       (Loihi's stock LIF; u is not reset)
        reset="subtract": v[t] <- v[t] - threshold where s[t]   (soft reset: the remainder stays)

    A decoder decides which spikes count.
    """

    def __init__(
        self,
        size: int | tuple[int, ...],
        threshold: float = 1.0,
        current_decay: float = 1.0,
        voltage_decay: float = 0.0,
        bias: bool = True,
        surrogate: str = "fast_sigmoid",
        reset: str = "zero",
        surrogate_slope: float = 5.0,
    ) -> None:
        super().__init__(size, threshold, current_decay, voltage_decay, bias, surrogate, surrogate_slope)
        self.reset = check_reset(reset)

    def _fire(self, v: torch.Tensor, state: torch.Tensor | None) -> _Step:
        s = self._spike(v - self.threshold)
        return s, v, (v * (1.0 - s) if self.reset == "zero" else v - s * self.threshold), None


class TTFSNeuron(CubaNeuron):
    """Time-to-first-spike neuron: a CUBA LIF that fires at most once per sample.

    Per step (module docstring for ``u`` and ``v``), with ``alive = 1`` until the
    neuron's spike and ``0`` after it::

        v[t] <- v[t] * alive                        (held at zero after the spike)
        s[t] = (v[t] >= threshold) * alive          (greater-or-equal)
        v[t] <- 0 where s[t] ;  alive <- 0 where s[t]

    ``u`` keeps integrating (as in a Loihi refractory period that never ends); every
    sample starts alive (``forward`` begins from zero state).
    """

    def _start(self, like: torch.Tensor) -> torch.Tensor | None:
        return torch.ones_like(like)  # alive: 1 until the neuron's spike

    def _fire(self, v: torch.Tensor, alive: torch.Tensor | None) -> _Step:
        assert alive is not None  # from _start
        v = v * alive
        s = self._spike(v - self.threshold) * alive
        return s, v, v * (1.0 - s), alive * (1.0 - s)


class MultiThresholdLIF(CubaNeuron):
    """Multi-threshold LIF: emits a graded spike, the number of thresholds crossed.

    Per step (module docstring for ``u`` and ``v``), with ``levels = K``::

        s[t] = sum_{k=1..K} (v[t] >= k * threshold)  in {0, 1, ..., K}   (greater-or-equal)
        reset="zero":     v[t] <- 0 where s[t] > 0
        reset="subtract": v[t] <- v[t] - s[t] * threshold

    The graded spike multiplies the downstream weight (Loihi 2 graded spikes). The
    surrogate gradient is the sum of the surrogates of the ``K`` comparisons.
    """

    def __init__(
        self,
        size: int | tuple[int, ...],
        levels: int = 2,
        threshold: float = 1.0,
        current_decay: float = 1.0,
        voltage_decay: float = 0.0,
        bias: bool = True,
        surrogate: str = "fast_sigmoid",
        reset: str = "zero",
        surrogate_slope: float = 5.0,
    ) -> None:
        super().__init__(size, threshold, current_decay, voltage_decay, bias, surrogate, surrogate_slope)
        if not 1 <= int(levels) <= 255:
            raise ValueError(f"levels must lie in 1..255, got {levels}")
        self.levels = int(levels)
        self.reset = check_reset(reset)

    def _fire(self, v: torch.Tensor, state: torch.Tensor | None) -> _Step:
        crossed = [self._spike(v - level * self.threshold) for level in range(1, self.levels + 1)]
        s = torch.stack(crossed).sum(dim=0)
        return s, v, (v * (1.0 - crossed[0]) if self.reset == "zero" else v - s * self.threshold), None


NEURONS: dict[str, type[CubaNeuron]] = {"lif": LIF, "ttfs": TTFSNeuron, "multi_threshold": MultiThresholdLIF}
