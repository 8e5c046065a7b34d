"""Shared fixtures: small graphs, the shipped model, hypothesis settings."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

from latdeploy.ir import DenseInt, Graph, LIFInt, SpikeInput
from latdeploy.nn import build_model

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_MODEL = ROOT / "models" / "digits_mlp.pt"

settings.register_profile(
    "latdeploy", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.load_profile("latdeploy")


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--run-slow``: also run the tests marked ``slow`` (long Lava/Ray/framework runs)."""
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow (see README)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked ``slow`` unless ``--run-slow`` or ``LATDEPLOY_RUN_SLOW=1`` is given."""
    if config.getoption("--run-slow") or os.environ.get("LATDEPLOY_RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (README, 'Tests')")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def int_graph(rng: np.random.Generator, sizes: tuple[int, ...], timesteps: int, **neuron) -> Graph:
    """A random integer chain SpikeInput -> (DenseInt -> LIFInt)* of ``sizes``."""
    nodes: list = [SpikeInput("input", (), neurons=sizes[0])]
    previous = "input"
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        nodes.append(DenseInt(f"dense{index}", (previous,), weight=rng.integers(-256, 256, (n_out, n_in))))
        nodes.append(LIFInt(f"lif{index}", (f"dense{index}",), bias_mant=np.zeros(n_out, np.int32), **neuron))
        previous = f"lif{index}"
    return Graph(tuple(nodes), {"timesteps": timesteps})


def small_convnet(
    pool: str, in_channels: int, classes: int, batch_norm: bool = False, seed: int = 0
) -> torch.nn.Module:
    """A TTFS conv net on ``[in_channels, 8, 8]`` inputs, T = 4, biased neurons: conv(3) -> ``pool`` ->
    conv(4) -> ``pool`` -> linear(``classes``) (a BatchNorm after the first conv with ``batch_norm``),
    its weights drawn after ``torch.manual_seed(seed)``."""
    layers = [
        {"type": "conv", "channels": 3, "kernel": 3, "padding": 1},
        *([{"type": "batchnorm"}] if batch_norm else []),
        {"type": "neuron"},
        {"type": pool, "kernel": 2},
        {"type": "conv", "channels": 4, "kernel": 3, "padding": 1},
        {"type": "neuron"},
        {"type": pool, "kernel": 2},
        {"type": "flatten"},
        {"type": "linear", "features": classes},
        {"type": "neuron"},
    ]
    neuron = {"kind": "ttfs", "threshold": 1.0, "bias": True}
    torch.manual_seed(seed)
    return build_model(
        {"arch": "convnet", "input_shape": [in_channels, 8, 8], "timesteps": 4, "neuron": neuron, "layers": layers}
    )


@pytest.fixture
def shipped_model_path() -> Path:
    return SHIPPED_MODEL
