"""``latdeploy run`` inputs in their natural layouts: torch's ``(samples, T, C, H, W)``, lava-dl's
``(W, H, C, T)`` and ``(C, H, W, T)`` give the same spikes as the ring buffer; a shape that several layouts
read differently is an error naming ``--layout`` (or, where the ring buffer fits, the output says which
other layout would also fit); a lava-dl ``.net`` file without ``simulation/tSample`` runs for the input's steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from latdeploy.errors import InputFormatError
from latdeploy.flows.input_layouts import to_batch
from latdeploy.flows.run import run_file
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.ir.onnx_io import write_onnx
from latdeploy.nn import LIF
from tests.frontend.test_netx import CUBA, _write_net


def _conv_graph(channels: int = 2, height: int = 5, width: int = 4):
    torch.manual_seed(0)
    conv = nn.Conv2d(channels, 3, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.mul_(4.0)
    net = nn.Sequential(conv, LIF(3 * height * width, threshold=1.0, bias=False))
    return graph_from_module(net, {"input_shape": [channels, height, width], "timesteps": 6})


def test_natural_layouts_read_the_same_spikes_as_the_ring_buffer(tmp_path):
    graph = _conv_graph()
    path = write_onnx(graph, tmp_path / "conv.onnx")
    torch_layout = (np.random.default_rng(1).random((3, 6, 2, 5, 4)) < 0.4).astype(np.uint8)  # (B, T, C, H, W)
    ring = torch_layout.reshape(3, 6, -1).transpose(0, 2, 1)  # (B, N, T)
    expected = run_file(path, ring, "float")
    assert expected.facts["layout"] == "NT" and expected.trace.output().spikes.any()
    ran = run_file(path, torch_layout, "float")
    assert ran.facts["layout"] == "BT"
    assert np.array_equal(ran.trace.output().spikes, expected.trace.output().spikes)
    assert ran.to_ring_buffer(ran.trace.output().spikes).shape == (3, 6, 60)  # outputs in the input's layout
    one = torch_layout[0]  # (T, C, H, W)
    for layout, array in (("WHCT", one.transpose(3, 2, 1, 0)), ("CHWT", one.transpose(1, 2, 3, 0))):
        single = run_file(path, np.ascontiguousarray(array), "float")
        assert single.facts["layout"] == layout, layout
        assert np.array_equal(single.trace.output().spikes[0], expected.trace.output().spikes[0]), layout


def test_a_shape_several_layouts_read_differently_is_refused_or_named():
    cube = _conv_graph(4, 4, 4)  # (C, H, W) = (4, 4, 4): WHCT and CHWT both fit a (4, 4, 4, T) array
    array = (np.random.default_rng(2).random((4, 4, 4, 6)) < 0.5).astype(np.uint8)
    with pytest.raises(InputFormatError, match=r"ambiguous: it reads differently as WHCT, CHWT; give --layout"):
        to_batch(array, cube)
    batch, layout, _ = to_batch(array, cube, "CHWT")
    assert layout == "CHWT" and batch.shape == (1, 6, 64)
    flat = _conv_graph(1, 1, 6)  # 6 neurons: a (3, 6, 6) array is NT (3 samples, 6 steps) or BT
    square = np.zeros((3, 6, 6), np.uint8)
    square[0, 1, 0] = 1
    _, layout, others = to_batch(square, flat)
    assert (layout, others) == ("NT", ["BT"])  # the documented default, and the run's output names BT
    with pytest.raises(InputFormatError, match=r"has 6 neurons, expected in layout BT"):
        to_batch(np.zeros((3, 6, 7), np.uint8), flat, "BT")


def test_a_net_file_without_tsample_runs_for_the_inputs_steps(tmp_path):
    rng = np.random.default_rng(3)
    dense = {"type": "dense", "shape": [4], "weight": rng.integers(0, 120, (4, 5)).astype(float), "neuron": CUBA}
    path = _write_net(tmp_path / "tutorial.net", [dense], t_sample=None)
    spikes = (rng.random((5, 9)) < 0.6).astype(np.uint8)  # (neurons, steps), no input block in the file
    result = run_file(path, spikes, "fixed")
    assert result.trace.output().spikes.shape == (1, 9, 4) and result.trace.output().spikes.any()
