from __future__ import annotations

import torch

from latdeploy.nn import LatencyEncoder


def test_stronger_input_fires_earlier_and_once():
    encoder = LatencyEncoder(timesteps=8)
    x = torch.tensor([[1.0, 0.75, 0.5, 0.1]])
    spikes = encoder(x)
    assert spikes.shape == (8, 1, 4)
    assert spikes.sum(dim=0).tolist() == [[1.0, 1.0, 1.0, 1.0]]
    times = spikes[:, 0].argmax(dim=0).tolist()
    assert times == [0, 2, 4, 6]
    assert times == sorted(times)


def test_blank_input_never_fires_and_saturation():
    encoder = LatencyEncoder(timesteps=5)
    spikes = encoder(torch.tensor([[0.0, -1.0, 3.0]]))
    assert spikes[:, 0, 0].sum() == 0 and spikes[:, 0, 1].sum() == 0
    assert spikes[0, 0, 2] == 1
