"""Input encoders: analog intensities to spike trains."""

from __future__ import annotations

import torch
from torch import nn


class LatencyEncoder(nn.Module):
    """Time-to-first-spike encoding of intensities in [0, 1] over ``timesteps`` steps.

    Each input fires once, at step ``t = round((1 - x) * (timesteps - 1))``: the
    strongest input (x = 1) fires at step 0, the weakest non-zero input last.
    Inputs ``x <= 0`` carry no information and never fire. Values above 1 are
    treated as 1. The encoder has no parameters and runs on the host.
    """

    def __init__(self, timesteps: int) -> None:
        super().__init__()
        if timesteps < 1:
            raise ValueError(f"timesteps must be >= 1, got {timesteps}")
        self.timesteps = timesteps

    def spike_times(self, x: torch.Tensor) -> torch.Tensor:
        """Return the integer firing step of every input (``timesteps`` = never)."""
        x = x.clamp(max=1.0)
        times = torch.round((1.0 - x) * (self.timesteps - 1)).to(torch.int64)
        return torch.where(x > 0, times, torch.full_like(times, self.timesteps))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return spikes of shape ``[timesteps, *x.shape]`` (float 0/1)."""
        times = self.spike_times(x)
        steps = torch.arange(self.timesteps, device=x.device).view(-1, *([1] * x.dim()))
        return (steps == times.unsqueeze(0)).to(torch.float32)
