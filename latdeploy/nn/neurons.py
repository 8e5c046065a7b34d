"""Spiking neurons with reset to zero, as Loihi's stock LIF computes them in float."""

from __future__ import annotations

import torch
from torch import nn

from latdeploy.nn.surrogate import spike_function


class LIF(nn.Module):
    """Current-based leaky integrate-and-fire neuron with reset to zero.

    Per step, with synaptic input ``I[t]``::

        u[t] = u[t-1] * (1 - current_decay) + I[t]
        v[t] = v[t-1] * (1 - voltage_decay) + u[t] + bias
        s[t] = v[t] >= threshold          (greater-or-equal)
        v[t] = 0 where s[t]               (reset to zero; u is not reset)

    ``current_decay = 1, voltage_decay = 0`` is the integrate-and-fire neuron
    (``u[t] = I[t]``, no leak). Neurons may fire on many steps; a decoder decides
    which spikes count. ``bias`` (one per neuron, learnable) is optional.
    """

    def __init__(
        self,
        size: int,
        threshold: float = 1.0,
        current_decay: float = 1.0,
        voltage_decay: float = 0.0,
        bias: bool = True,
        surrogate: str = "fast_sigmoid",
    ) -> None:
        super().__init__()
        for name, value in (("current_decay", current_decay), ("voltage_decay", voltage_decay)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value}")
        if threshold <= 0:
            raise ValueError(f"threshold must be > 0, got {threshold}")
        self.size = size
        self.threshold = float(threshold)
        self.current_decay = float(current_decay)
        self.voltage_decay = float(voltage_decay)
        self.surrogate = surrogate
        self.bias = nn.Parameter(torch.zeros(size)) if bias else None

    def forward(self, current: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Integrate ``current`` of shape ``[T, B, size]``.

        Returns:
            ``(spikes, v_pre)``, both ``[T, B, size]``: the 0/1 spikes and the
            membrane potential of each step before the reset.
        """
        u = torch.zeros_like(current[0])
        v = torch.zeros_like(current[0])
        spikes, v_pre = [], []
        for step in range(current.shape[0]):
            u = current[step] if self.current_decay == 1.0 else u * (1 - self.current_decay) + current[step]
            v = v if self.voltage_decay == 0.0 else v * (1 - self.voltage_decay)
            v = v + u if self.bias is None else v + u + self.bias
            s = spike_function(v - self.threshold, self.surrogate)
            v_pre.append(v)
            spikes.append(s)
            v = v * (1.0 - s)
        return torch.stack(spikes), torch.stack(v_pre)
