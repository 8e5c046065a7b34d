"""A few training steps for the framework tests' networks, so that their weights are not trivial."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

Run = Callable[[nn.Sequential, np.ndarray], list[torch.Tensor]]
"""Runs a network in its framework on ``[B, T, ...]`` spikes; returns each neuron layer's output ``[B, T, N]``."""


def train_towards_random_rates(net: nn.Sequential, run: Run, spikes: np.ndarray, seed: int, steps: int) -> None:
    """Take ``steps`` Adam steps (lr 0.02, seeded by ``seed``) moving the last layer's mean output rate
    on ``spikes`` towards random targets, running ``net`` with ``run``."""
    torch.manual_seed(seed)
    target = torch.rand(spikes.shape[0], 5)
    optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=0.02)
    for _ in range(steps):
        optimizer.zero_grad()
        rates = run(net, spikes)[-1].mean(dim=1)
        nn.functional.mse_loss(rates, target).backward()
        optimizer.step()
