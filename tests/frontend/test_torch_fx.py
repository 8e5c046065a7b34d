"""Models with a custom forward: their layers found by torch.fx tracing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.nn.encoders import LatencyEncoder
from latdeploy.nn.neurons import LIF
from latdeploy.sim.float_sim import simulate_float


class CustomConvNet(nn.Module):
    """A hand-written time-first forward, as users write them."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = LatencyEncoder(5)
        self.conv = nn.Conv2d(1, 3, 3, padding=1, bias=False)
        self.lif1 = LIF((3, 5, 5), threshold=0.3, bias=False)
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(12, 4, bias=False)
        self.lif2 = LIF(4, threshold=0.1)

    def run_spikes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        steps, batch = x.shape[0], x.shape[1]
        current = self.conv(x.flatten(0, 1)).reshape(steps, batch, 3, 5, 5)
        spikes, _ = self.lif1(current)
        pooled = self.pool(spikes.flatten(0, 1))
        out, v_pre = self.lif2(self.fc(torch.flatten(pooled, 1)).reshape(steps, batch, 4))
        return out, v_pre

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.run_spikes(self.encoder(x).reshape(5, -1, 1, 5, 5))


class SkipNet(CustomConvNet):
    def run_spikes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        spikes, _ = self.lif1(self.conv(x.flatten(0, 1)).reshape(5, -1, 3, 5, 5))
        return self.pool(x.flatten(0, 1)), spikes  # the pool reads the input again: a branch


class ActivationNet(CustomConvNet):
    def run_spikes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.relu(self.conv(x.flatten(0, 1))), x


def test_custom_forward_is_traced_into_the_same_graph_and_spikes():
    torch.manual_seed(0)
    model = CustomConvNet()
    graph = graph_from_module(model, {"input_shape": [1, 5, 5], "timesteps": 5})
    assert [type(n).__name__ for n in graph.nodes] == ["SpikeInput", "Conv2d", "LIF", "Pool2d", "Dense", "LIF"]
    images = torch.rand(6, 25)
    with torch.no_grad():
        encoded = model.encoder(images)
        out, _ = model(images)
    trace = simulate_float(graph, encoded.transpose(0, 1).numpy().astype(np.uint8))
    assert np.array_equal(trace.output().spikes, out.transpose(0, 1).numpy().astype(np.uint8))


@pytest.mark.parametrize(
    ("model", "match"), [(SkipNet(), "only chains of layers"), (ActivationNet(), "operation 'relu'")]
)
def test_untraceable_or_branching_forwards_are_refused(model, match):
    with pytest.raises(UnsupportedLayerError, match=match):
        graph_from_module(model, {"input_shape": [1, 5, 5], "timesteps": 5})
