"""latdeploy's operation counts (:mod:`latdeploy.energy.counting`) against NeuroBench's harness.

NeuroBench 2.3 (``neurobench.metrics.workload.SynapticOperations`` and ``ActivationSparsity``) runs
the shipped MLPs through its own ``Benchmark`` with its forward hooks; latdeploy counts the same
samples' spikes (the float simulator's trace, which equals the torch model spike for spike, so both
see the same activity). Where the definitions agree the numbers are equal; the documented
differences (docs/neurobench.md) are asserted as exact identities:

* quantized zeros: latdeploy's ``sops`` skip synapses whose weight quantizes to 0; NeuroBench skips
  only the float weights that are exactly 0 (latdeploy's ``sops_dense`` skips none);
* host encoder: the learned-latency (LE) encoder's ``Linear`` runs on the host, so NeuroBench counts
  its MACs (analog input) and latdeploy does not (its first chip layer counts the encoder's spikes);
* graded spikes: multi-threshold payloads (2, 3) are not binary, so NeuroBench books those layers'
  operations as MACs rather than ACs (same number);
* ``Dense``: NeuroBench's counts every synapse on every step (``T`` x one dense pass); latdeploy's
  ``sops_dense`` counts the fan-out of actual events and ``macs_ann`` one dense pass.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from latdeploy.data import load_split
from latdeploy.energy.counting import count_operations
from latdeploy.flows.prepare import encode
from latdeploy.flows.verify import load_subject
from latdeploy.nn.encoders import LearnableLatencyEncoder
from latdeploy.nn.evaluation import model_inputs
from latdeploy.nn.network import is_neuron
from latdeploy.sim.float_sim import simulate_float
from tests.conftest import ROOT

neurobench = pytest.importorskip("neurobench", reason="NeuroBench 2.3 is in the 'test' extra (docs/neurobench.md)")
from neurobench.benchmarks import Benchmark  # noqa: E402
from neurobench.metrics.workload import ActivationSparsity, SynapticOperations  # noqa: E402
from neurobench.models import TorchModel  # noqa: E402

MLPS = ("digits_mlp", "digits_le_tad_mlp", "digits_mtlif_mlp")
SAMPLES = 48
BATCH = 16


class SpikeTap(nn.Module):
    """Identity on a neuron layer's spikes, so that NeuroBench's activation hooks (which read a
    module's output tensor) see them; latdeploy's neurons return ``(spikes, v_pre)``."""

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        """Return ``spikes`` unchanged."""
        return spikes


class NeuroBenchView(nn.Module):
    """The shipped :class:`~latdeploy.nn.network.LatencyMLP`'s own modules run in its order, with a
    :class:`SpikeTap` after each neuron layer; returns the output spikes ``[T, B, classes]``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.taps = nn.ModuleList(SpikeTap() for _ in model.neurons)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode ``x`` and run every layer, returning the last layer's spikes."""
        spikes = self.model.encoder(x)
        for linear, neuron, tap in zip(self.model.linears, self.model.neurons, self.taps, strict=True):
            spikes, _ = neuron(linear(spikes))
            spikes = tap(spikes)
        return spikes


def neurobench_counts(model: nn.Module, x: np.ndarray, y: np.ndarray) -> dict:
    """Return NeuroBench's ``SynapticOperations`` and ``ActivationSparsity`` of ``model`` on ``x``."""
    view = TorchModel(NeuroBenchView(model))
    view.add_activation_module(SpikeTap)
    data = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    loader = torch.utils.data.DataLoader(data, batch_size=BATCH, shuffle=False)
    benchmark = Benchmark(view, loader, [], [], [[], [SynapticOperations, ActivationSparsity]])
    with torch.no_grad():
        return benchmark.run(quiet=True)


@pytest.fixture(scope="module", params=MLPS)
def counted(request):
    subject = load_subject(ROOT / "models" / f"{request.param}.pt", "loihi2")
    test = load_split(subject.metadata["dataset"], "test")
    x, y = test.x[:SAMPLES], test.y[:SAMPLES]
    spikes = encode(subject.model, x)
    trace = simulate_float(subject.float_graph, spikes)
    ours = count_operations(subject.int_graph, spikes, trace, subject.float_graph)
    theirs = neurobench_counts(subject.model, x, y)
    return request.param, subject, x, spikes, trace, ours, theirs


def _host_encoder_macs(model: nn.Module, x: np.ndarray) -> float:
    """MACs per sample of the LE encoder's Linear on non-zero analog inputs (0 for a fixed encoder)."""
    if not isinstance(model.encoder, LearnableLatencyEncoder):
        return 0.0
    return float((x != 0).sum()) * model.encoder.features.out_features / len(x)


def test_the_float_trace_is_the_torch_models_spikes(counted):
    """Both harnesses count the same activity: the float simulator equals the torch model."""
    _, subject, x, _, trace, _, _ = counted
    with torch.no_grad():
        layer_spikes, _ = subject.model(torch.from_numpy(x))
    for name, spikes in zip(trace.layers, layer_spikes, strict=True):
        assert np.array_equal(trace.layers[name].spikes, spikes.transpose(0, 1).numpy().astype(np.uint8)), name


def _skipped(counted, mask_of) -> float:
    """Per sample: input events x synapses in their fan-out that ``mask_of(layer index, int weight)`` marks."""
    _, subject, _, spikes, trace, _, _ = counted
    inputs = [spikes.reshape(*spikes.shape[:2], -1), *(trace.layers[n].spikes for n in trace.layers)][:-1]
    synapses = [node for node in subject.int_graph.nodes if node.kind == "synapse"]
    total = 0
    for index, (events, synapse) in enumerate(zip(inputs, synapses, strict=True)):
        per_input = (events != 0).sum(axis=(0, 1)).astype(np.int64)
        total += int((per_input * mask_of(index, synapse.weight).sum(axis=0)).sum())
    return total / spikes.shape[0]


def _float_zero(counted, index: int) -> np.ndarray:
    return counted[1].model.linears[index].weight.detach().numpy() == 0


def test_neurobench_synaptic_operations_equal_latdeploys_events_times_fan_out_plus_the_host_encoder(counted):
    name, subject, x, _, _, ours, theirs = counted
    synops = theirs["SynapticOperations"]
    host = _host_encoder_macs(subject.model, x)
    chip = synops["Effective_ACs"] + synops["Effective_MACs"] - host
    dense_fan_out = sum(layer["sops_dense"] for layer in ours["per_layer"])
    float_zeros = _skipped(counted, lambda index, _weight: _float_zero(counted, index))
    assert chip == pytest.approx(dense_fan_out - float_zeros, rel=1e-12, abs=1e-6)
    if subject.model.config.get("neuron", "lif") == "multi_threshold":
        assert synops["Effective_MACs"] > host  # graded payloads (2, 3) are not binary: NeuroBench books MACs
    else:
        assert synops["Effective_MACs"] == pytest.approx(host, rel=1e-12, abs=1e-6), name  # the LE encoder only
    dense_pass = sum(layer["macs_ann"] for layer in ours["per_layer"])
    encoder = subject.model.encoder
    host_dense = encoder.features.in_features * encoder.features.out_features if host else 0
    assert synops["Dense"] == pytest.approx(ours["timesteps"] * dense_pass + host_dense, rel=1e-12, abs=1e-6)


def test_latdeploys_sops_skip_exactly_the_synapses_whose_weight_quantizes_to_zero(counted):
    _, subject, x, _, _, ours, theirs = counted
    synops = theirs["SynapticOperations"]
    chip = synops["Effective_ACs"] + synops["Effective_MACs"] - _host_encoder_macs(subject.model, x)
    sops = sum(layer["sops"] for layer in ours["per_layer"])
    quantized_zeros = _skipped(counted, lambda index, weight: (weight == 0) & ~_float_zero(counted, index))
    assert all((weight == 0)[_float_zero(counted, i)].all() for i, weight in enumerate(_int_weights(subject)))
    if subject.metadata.get("qat_epochs"):
        assert quantized_zeros == 0  # trained on the 8-bit grid: its zeros are zeros of the float model too
    else:
        assert quantized_zeros > 0  # post-training quantization turns some small float weights into zeros
    assert chip - sops == pytest.approx(quantized_zeros, rel=1e-12, abs=1e-6)


def _int_weights(subject) -> list[np.ndarray]:
    return [node.weight for node in subject.int_graph.nodes if node.kind == "synapse"]


def test_neurobench_activation_sparsity_equals_latdeploys_spikes_over_neuron_updates(counted):
    _, _, _, _, _, ours, theirs = counted
    spikes = sum(layer["spikes"] for layer in ours["per_layer"])
    updates = sum(layer["neuron_updates"] for layer in ours["per_layer"])
    assert theirs["ActivationSparsity"] == pytest.approx(1.0 - spikes / updates, rel=1e-12, abs=1e-15)
    assert 0.0 < theirs["ActivationSparsity"] < 1.0


class ConvNetView(nn.Module):
    """A shipped :class:`~latdeploy.nn.network.SpikingConvNet`'s own layers run as its ``forward`` runs
    them (stateless layers per step), with a :class:`SpikeTap` after each neuron layer."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.taps = nn.ModuleList(SpikeTap() for layer in model.layers if is_neuron(layer))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode ``x`` and run every layer, returning the last layer's spikes."""
        x, taps = self.model.encoder(x), iter(self.taps)
        for layer in self.model.layers:
            if is_neuron(layer):
                x = next(taps)(layer(x)[0])
            else:
                steps, batch = x.shape[:2]
                x = layer(x.flatten(0, 1))
                x = x.reshape(steps, batch, *x.shape[1:])
        return x


def test_pool_fusion_neurobench_counts_the_pooled_layers_as_macs_latdeploy_the_fused_synapse():
    """digits_ttfs_convnet: conv -> neuron -> avgpool -> conv -> neuron -> avgpool -> linear -> neuron."""
    subject = load_subject(ROOT / "models" / "digits_ttfs_convnet.pt", "loihi2")
    test = load_split(subject.metadata["dataset"], "test")
    x, y = test.x[:SAMPLES], test.y[:SAMPLES]
    spikes = encode(subject.model, x)
    ours = count_operations(subject.int_graph, spikes, simulate_float(subject.float_graph, spikes), subject.float_graph)
    view = TorchModel(ConvNetView(subject.model))
    view.add_activation_module(SpikeTap)
    data = torch.utils.data.TensorDataset(model_inputs(x, subject.model.config), torch.from_numpy(y))
    loader = torch.utils.data.DataLoader(data, batch_size=BATCH, shuffle=False)
    with torch.no_grad():
        theirs = Benchmark(view, loader, [], [], [[], [SynapticOperations]]).run(quiet=True)["SynapticOperations"]
    first, fused = ours["per_layer"][0], ours["per_layer"][1:]
    assert all(bool((m.weight != 0).all()) for m in subject.model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
    # the first conv sees the encoder's binary spikes: the same count in both (ACs)
    assert theirs["Effective_ACs"] == pytest.approx(first["sops_dense"], rel=1e-12, abs=1e-6)
    # after a pool NeuroBench hooks the conv/linear on averaged (non-binary) inputs: MACs on pooled activity;
    # latdeploy fuses the pool into that synapse and counts the pre-pool spike events x the fused fan-out
    assert theirs["Effective_MACs"] > 0
    assert theirs["Effective_MACs"] != pytest.approx(sum(layer["sops_dense"] for layer in fused), rel=1e-3)
    assert len(ours["per_layer"]) == 3 and not any("pool" in type(n).__name__.lower() for n in subject.int_graph.nodes)
    # both count the dense baseline on the network as trained (pools unfused), T dense passes in NeuroBench;
    # latdeploy's macs_ann also counts the taps that fall on a conv's zero padding, NeuroBench does not
    dense_pass = sum(layer["macs_ann"] for layer in ours["per_layer"])
    assert theirs["Dense"] == pytest.approx(ours["timesteps"] * (dense_pass - _padding_taps(subject.model)), abs=1e-6)


def _padding_taps(model: nn.Module) -> int:
    """Return the MACs of one dense pass whose input tap is a conv's zero padding (all convs of ``model``)."""
    taps, x = 0, torch.zeros(1, *model.config["input_shape"])
    for layer in model.layers:
        if isinstance(layer, nn.Conv2d):
            ones = torch.ones(layer.out_channels, layer.in_channels // layer.groups, *layer.kernel_size)
            inside = torch.nn.functional.conv2d(torch.ones_like(x), ones, stride=layer.stride, padding=layer.padding)
            taps += int(inside.numel() * ones[0].numel() - inside.sum().item())
        if not is_neuron(layer):
            x = layer(x)
    return taps
