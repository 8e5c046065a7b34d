"""Reference architectures, built from a JSON-able config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from latdeploy.errors import ModelFormatError
from latdeploy.nn.encoders import LatencyEncoder
from latdeploy.nn.neurons import LIF


class LatencyMLP(nn.Module):
    """Latency encoder, then ``Linear -> LIF`` per layer; the last LIF layer is the output.

    Config keys: ``sizes`` (e.g. ``[64, 128, 10]``), ``timesteps``, ``threshold``,
    ``bias`` (neuron bias), ``current_decay``, ``voltage_decay``, ``surrogate``.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.config = dict(config)
        sizes = list(config["sizes"])
        self.timesteps = int(config["timesteps"])
        self.encoder = LatencyEncoder(self.timesteps)
        self.linears = nn.ModuleList(
            nn.Linear(n_in, n_out, bias=False) for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.neurons = nn.ModuleList(
            LIF(
                n_out,
                threshold=float(config.get("threshold", 1.0)),
                current_decay=float(config.get("current_decay", 1.0)),
                voltage_decay=float(config.get("voltage_decay", 0.0)),
                bias=bool(config.get("bias", True)),
                surrogate=str(config.get("surrogate", "fast_sigmoid")),
            )
            for n_out in sizes[1:]
        )

    def run_spikes(self, spikes_in: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Run the spiking layers on input spikes ``[T, B, n_in]``.

        Returns:
            ``(layer_spikes, output_v_pre)``: one ``[T, B, n]`` spike tensor per
            layer and the output layer's membrane potential before reset.
        """
        layer_spikes: list[torch.Tensor] = []
        x = spikes_in
        v_pre = x
        for linear, neuron in zip(self.linears, self.neurons, strict=True):
            x, v_pre = neuron(linear(x))
            layer_spikes.append(x)
        return layer_spikes, v_pre

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Encode analog input ``[B, n_in]`` and run; returns what :meth:`run_spikes` returns."""
        return self.run_spikes(self.encoder(x))


ARCHITECTURES: dict[str, Callable[[dict[str, Any]], nn.Module]] = {"mlp": LatencyMLP}


def build_model(config: dict[str, Any]) -> nn.Module:
    """Build the architecture named by ``config["arch"]``.

    Raises:
        ModelFormatError: if the architecture is unknown or the config incomplete.
    """
    arch = config.get("arch")
    if arch not in ARCHITECTURES:
        raise ModelFormatError(f"unknown architecture {arch!r}; known: {sorted(ARCHITECTURES)}")
    try:
        return ARCHITECTURES[arch](config)
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFormatError(f"invalid config for architecture {arch!r}: {error}") from error
