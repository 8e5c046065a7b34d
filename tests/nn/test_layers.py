"""SumPool2d, SpikeTimeMaxPool2d, AxonalDelay and batch norm folding."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from latdeploy.nn.layers import AxonalDelay, SpikeTimeMaxPool2d, SumPool2d, fold_batchnorm


def test_sum_pool_sums_windows_exactly():
    x = torch.rand(3, 2, 7, 6)
    out = SumPool2d(3, stride=2, padding=1)(x)
    padded = F.pad(x, (1, 1, 1, 1))
    expected = padded.unfold(2, 3, 2).unfold(3, 3, 2).sum(dim=(-1, -2))
    assert out.shape == expected.shape and torch.allclose(out, expected, atol=1e-6)
    spikes = (torch.rand(4, 3, 6, 6) < 0.5).float()
    assert torch.equal(SumPool2d(2)(spikes), F.avg_pool2d(spikes, 2) * 4)  # integers: exact


def test_spike_time_max_pool_fires_when_any_input_of_its_window_fires():
    spikes = (torch.rand(5, 2, 6, 6) < 0.2).float()
    out = SpikeTimeMaxPool2d(2)(spikes)
    assert torch.equal(out, (SumPool2d(2)(spikes) > 0).float())


def test_axonal_delay_shifts_time_first_tensors():
    x = torch.arange(24.0).reshape(4, 2, 3)
    out = AxonalDelay(1)(x)
    assert torch.equal(out[1:], x[:3]) and not out[0].any()
    assert torch.equal(AxonalDelay(0)(x), x) and not AxonalDelay(9)(x).any()
    with pytest.raises(ValueError, match="steps"):
        AxonalDelay(-1)


@given(seed=st.integers(0, 2**16), conv=st.booleans(), bias=st.booleans())
@settings(max_examples=20)
def test_folded_batch_norm_leaves_outputs_unchanged(seed, conv, bias):
    torch.manual_seed(seed)
    layer = nn.Conv2d(3, 4, 3, padding=1, bias=bias) if conv else nn.Linear(5, 4, bias=bias)
    norm = nn.BatchNorm2d(4) if conv else nn.BatchNorm1d(4)
    with torch.no_grad():
        norm.running_mean.uniform_(-1, 1)
        norm.running_var.uniform_(0.1, 3)
        norm.weight.uniform_(-2, 2)
        norm.bias.uniform_(-1, 1)
    norm.eval()
    x = torch.rand(6, 3, 5, 5) if conv else torch.rand(6, 5)
    weight, shift = fold_batchnorm(layer.weight, layer.bias, norm)
    with torch.no_grad():
        expected = norm(layer(x))
        folded = (F.conv2d(x, weight, padding=1) if conv else F.linear(x, weight)) + shift.reshape(
            -1, *([1, 1] if conv else [])
        )
    assert torch.allclose(folded, expected, rtol=1e-5, atol=1e-5)


def test_fold_refuses_mismatched_norms():
    with pytest.raises(ValueError, match="features"):
        fold_batchnorm(torch.zeros(3, 2), None, nn.BatchNorm1d(4))
    with pytest.raises(ValueError, match="running statistics"):
        fold_batchnorm(torch.zeros(4, 2), None, nn.BatchNorm1d(4, track_running_stats=False))
