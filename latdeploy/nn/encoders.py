"""Input encoders: analog intensities or event streams to what the chip's first layer receives.

All encoders run on the host and return time-first tensors ``[T, B, ...]``:

- :class:`LatencyEncoder`: plain time-to-first-spike coding of intensities (no parameters).
- :class:`LearnableLatencyEncoder`: the latency-encoding (LE) module: a learnable feature
  extractor, then intensity -> latency with a straight-through estimator.
- :class:`SpatioTemporalCompression`: STC of an event stream into ``k`` steps of
  synaptic current (graded event counts).
"""

from __future__ import annotations

import torch
from torch import nn


def _check_timesteps(timesteps: int) -> None:
    if timesteps < 1:
        raise ValueError(f"timesteps must be >= 1, got {timesteps}")


class LatencyEncoder(nn.Module):
    """Time-to-first-spike encoding of intensities in [0, 1] over ``timesteps`` steps.

    Each input fires once, at step ``t = round((1 - x) * (timesteps - 1))``: the
    strongest input (x = 1) fires at step 0, the weakest non-zero input last.
    Inputs ``x <= 0`` carry no information and never fire. Values above 1 are
    treated as 1. The encoder has no parameters and runs on the host.
    """

    def __init__(self, timesteps: int) -> None:
        super().__init__()
        _check_timesteps(timesteps)
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


def latency_spikes_ste(intensity: torch.Tensor, timesteps: int) -> torch.Tensor:
    """Map intensities in [0, 1] to one spike each, with a straight-through estimator.

    Forward: an input fires once, at step ``t = round((1 - x) * timesteps)``; ``t =
    timesteps`` (``x < 1 / (2 * timesteps)``) means it never fires, so weak features
    stay silent. Backward: the one-hot spike train is replaced by its linear
    interpolation between the two steps around the continuous time
    ``(1 - x) * timesteps`` (a triangle kernel of width 2), so the gradient passes
    the rounding to integer steps.

    Returns:
        ``[timesteps, *intensity.shape]`` float 0/1 spikes carrying gradients.
    """
    _check_timesteps(timesteps)
    continuous = (1.0 - intensity.clamp(0.0, 1.0)) * timesteps
    steps = torch.arange(timesteps, device=intensity.device, dtype=intensity.dtype)
    steps = steps.view(-1, *([1] * intensity.dim()))
    soft = torch.relu(1.0 - (steps - continuous.unsqueeze(0)).abs())
    hard = (steps == torch.round(continuous).unsqueeze(0)).to(intensity.dtype)
    return soft + (hard - soft).detach()


class LearnableLatencyEncoder(nn.Module):
    """The latency-encoding (LE) module: features of the analog input, then intensity -> latency.

    ``features = Linear(n_in, n_features)(x)`` (a learnable extractor on the analog
    input), ``intensity = sigmoid(features)``, and each feature fires once at step
    ``round((1 - intensity) * timesteps)`` (never, when that is ``timesteps``) via
    :func:`latency_spikes_ste`: strong features fire early. The whole module runs on
    the host; the chip receives its spikes.
    """

    def __init__(self, timesteps: int, in_features: int, out_features: int) -> None:
        super().__init__()
        _check_timesteps(timesteps)
        self.timesteps = timesteps
        self.features = nn.Linear(in_features, out_features)

    def intensity(self, x: torch.Tensor) -> torch.Tensor:
        """Return each feature's intensity in (0, 1) for analog input ``[B, n_in]``."""
        return torch.sigmoid(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return spikes ``[timesteps, B, out_features]`` (float 0/1, differentiable by STE)."""
        return latency_spikes_ste(self.intensity(x), self.timesteps)


class SpatioTemporalCompression(nn.Module):
    """STC: compress an event stream of ``R`` raw bins into ``steps`` steps of synaptic current.

    The raw bins are cut into ``steps`` consecutive windows of ``R / steps`` bins
    (``R`` must be a multiple of ``steps``); the current of a window is the sum of
    its events per pixel and polarity, each weighted by
    ``decay ** (bins until the window's end)`` (``decay = 1``: plain event counts),
    clipped to ``max_level``. With ``decay = 1`` the currents are integers 0..max_level,
    i.e. graded spikes whose payload multiplies the first layer's weights. Runs on
    the host; no parameters.
    """

    def __init__(self, steps: int, decay: float = 1.0, max_level: float = 15.0) -> None:
        super().__init__()
        _check_timesteps(steps)
        if not 0.0 < decay <= 1.0:
            raise ValueError(f"decay must lie in (0, 1], got {decay}")
        if max_level <= 0:
            raise ValueError(f"max_level must be > 0, got {max_level}")
        self.timesteps = steps
        self.decay = float(decay)
        self.max_level = float(max_level)

    def forward(self, events: torch.Tensor) -> torch.Tensor:
        """Compress ``events`` ``[B, R, ...]`` (event counts per raw bin) to ``[steps, B, ...]``.

        Raises:
            ValueError: if ``R`` is not a multiple of ``steps``.
        """
        raw = events.shape[1]
        if raw % self.timesteps:
            raise ValueError(f"{raw} raw event bins do not split into {self.timesteps} equal windows")
        window = raw // self.timesteps
        grouped = events.reshape(events.shape[0], self.timesteps, window, *events.shape[2:]).to(torch.float32)
        if self.decay != 1.0:
            weights = self.decay ** torch.arange(window - 1, -1, -1, dtype=torch.float32, device=events.device)
            grouped = grouped * weights.view(1, 1, window, *([1] * (events.dim() - 2)))
        current = grouped.sum(dim=2).clamp(max=self.max_level)
        return current.transpose(0, 1).contiguous()
