from __future__ import annotations

import pytest
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


def test_learnable_encoder_fires_once_early_for_strong_features_and_passes_gradients():
    from latdeploy.nn.encoders import LearnableLatencyEncoder, latency_spikes_ste

    spikes = latency_spikes_ste(torch.tensor([[1.0, 0.5, 0.3, 0.01]]), timesteps=4)
    assert spikes.shape == (4, 1, 4)
    # x=1 -> step 0, 0.5 -> step 2, 0.3 -> round(2.8) = 3, 0.01 -> round(3.96) = 4 = never
    assert spikes[:, 0].argmax(dim=0).tolist()[:3] == [0, 2, 3]
    assert spikes.sum(dim=0).tolist() == [[1.0, 1.0, 1.0, 0.0]]
    torch.manual_seed(0)
    encoder = LearnableLatencyEncoder(timesteps=4, in_features=5, out_features=3)
    x = torch.rand(6, 5)
    out = encoder(x)
    assert set(out.unique().tolist()) <= {0.0, 1.0} and (out.sum(dim=0) <= 1).all()
    # weighting early steps more: the gradient must reach the feature extractor through the STE
    (out * torch.arange(4, 0, -1.0).view(4, 1, 1)).sum().backward()
    assert encoder.features.weight.grad is not None and encoder.features.weight.grad.abs().sum() > 0
    # and it points the right way: raising intensity (earlier spikes) increases the early-weighted sum
    intensity = torch.full((1, 1), 0.4, requires_grad=True)
    (latency_spikes_ste(intensity, 4) * torch.arange(4, 0, -1.0).view(4, 1, 1)).sum().backward()
    assert intensity.grad.item() > 0


def test_stc_sums_event_windows_into_graded_currents():
    from latdeploy.nn.encoders import SpatioTemporalCompression

    events = torch.zeros(1, 6, 2, 1, 1)
    events[0, :, 0, 0, 0] = torch.tensor([1.0, 2.0, 0.0, 3.0, 9.0, 9.0])
    current = SpatioTemporalCompression(steps=3, max_level=15)(events)
    assert current.shape == (3, 1, 2, 1, 1)
    assert current[:, 0, 0, 0, 0].tolist() == [3.0, 3.0, 15.0]  # last window clipped at max_level
    assert current[:, 0, 1].sum() == 0
    decayed = SpatioTemporalCompression(steps=3, decay=0.5)(events)
    assert decayed[:, 0, 0, 0, 0].tolist() == [2.5, 3.0, 13.5]  # 1*0.5+2, 0*0.5+3, 9*0.5+9
    with pytest.raises(ValueError, match="do not split"):
        SpatioTemporalCompression(steps=4)(events)
