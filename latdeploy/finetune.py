"""Quantization-aware fine-tuning for a hardware profile, and the float-vs-fixed agreement it aims at.

:func:`agreement_report` quantizes a model for a profile exactly as ``latdeploy export``
does and compares the float IR simulator with the fixed-point simulator (which equals
Lava bit for bit) on the test split: spike slots (sample, step, neuron of every layer)
that agree, and both accuracies.

:func:`finetune` trains the model a few epochs with its weights and biases
fake-quantized onto the profile's weight grid (:mod:`latdeploy.nn.fake_quant`: the
grid, scale and rounding of :func:`latdeploy.passes.quantize.quantize_layer` at the
clipping point ``max |W|``), then leaves the quantized values in the parameters. An
integrate-and-fire model whose weights and biases lie on that grid quantizes to
integers whose membranes are exactly ``scale`` times the float ones, and the
threshold conversion ``vth = ceil(theta * scale) - 1`` makes Loihi's ``v > vth << 6``
equal to torch's ``V >= theta``, so float and fixed spike alike.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from latdeploy.data import load_split
from latdeploy.errors import UnsupportedLayerError
from latdeploy.export import CALIBRATION_SAMPLES, encode
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.profile import Profile
from latdeploy.nn import decide
from latdeploy.nn.fake_quant import FakeQuantizedWeights
from latdeploy.nn.losses import first_spike_membrane_cross_entropy, tad_loss
from latdeploy.passes.quantize import quantize
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.sim.float_sim import simulate_float

LOSSES = ("membrane_ce", "tad")


def agreement_report(
    model: nn.Module,
    metadata: dict[str, Any],
    profile: Profile,
    weight_bits: int | None = None,
    samples: int | None = None,
) -> dict[str, Any]:
    """Quantize ``model`` for ``profile`` and compare float and fixed point on the test split.

    Returns:
        ``{weight_bits, samples, spike_slots, mismatches, agreement, accuracy_float,
        accuracy_fixed, accuracy_drop_points, per_layer: {name: mismatches}}``.

    Raises:
        LatdeployError: if the model cannot be converted or quantized.
    """
    graph = graph_from_module(model, metadata)
    train, test = load_split(metadata["dataset"], "train"), load_split(metadata["dataset"], "test")
    count = len(test.y) if samples is None else samples
    int_graph, _ = quantize(graph, profile, encode(model, train.x[:CALIBRATION_SAMPLES]), weight_bits=weight_bits)
    spikes, labels = encode(model, test.x[:count]), test.y[:count]
    float_trace, fixed_trace = simulate_float(graph, spikes), simulate_fixed(int_graph, spikes)
    per_layer = {
        name: int((float_trace.layers[name].spikes != fixed_trace.layers[name].spikes).sum())
        for name in float_trace.layers
    }
    slots = int(sum(layer.spikes.size for layer in float_trace.layers.values()))
    decoder = str(metadata.get("decoder", "first_spike"))
    accuracy = {}
    for kind, trace in (("float", float_trace), ("fixed", fixed_trace)):
        output = trace.output()
        accuracy[kind] = float((decide(output.spikes, output.v_pre, decoder).label == labels).mean())
    mismatches = sum(per_layer.values())
    return {
        "weight_bits": int(weight_bits or profile["arithmetic.weight_bits"]),
        "samples": int(count),
        "spike_slots": slots,
        "mismatches": int(mismatches),
        "agreement": 1.0 - mismatches / slots,
        "accuracy_float": accuracy["float"],
        "accuracy_fixed": accuracy["fixed"],
        "accuracy_drop_points": 100.0 * (accuracy["float"] - accuracy["fixed"]),
        "per_layer": per_layer,
    }


def _loss(metadata: dict[str, Any], model: nn.Module) -> Any:
    name = str(metadata.get("loss", "membrane_ce"))
    threshold = float(model.neurons[-1].threshold)
    if name == "membrane_ce":
        fire_weight = float(metadata.get("fire_weight", 0.0))
        return lambda spikes, v_pre, labels: first_spike_membrane_cross_entropy(
            spikes, v_pre, labels, threshold=threshold, fire_weight=fire_weight
        )
    if name == "tad":
        return lambda spikes, v_pre, labels: tad_loss(5.0 * v_pre / threshold, labels)
    raise UnsupportedLayerError(f"fine-tuning supports the losses {list(LOSSES)}; the model was trained with {name!r}")


def finetune(
    model: nn.Module,
    metadata: dict[str, Any],
    profile: Profile,
    weight_bits: int | None = None,
    epochs: int = 10,
    lr: float = 1e-4,
    batch_size: int = 32,
    seed: int = 0,
) -> nn.Module:
    """Fine-tune ``model`` in place with fake-quantized weights and return it (weights left on the grid).

    Each layer is clipped where post-training quantization clips it (the calibrated
    ``clip_quantile`` of its ``|W|``). After each epoch the training-split accuracy of the
    fake-quantized model is measured;
    the parameters of the best epoch (the starting point counts as epoch 0) are kept.

    Raises:
        UnsupportedLayerError: for a model that is not a ``Linear -> neuron`` MLP with
            neuron biases, or whose loss is not in :data:`LOSSES`.
    """
    if not hasattr(model, "linears") or not hasattr(model, "neurons"):
        raise UnsupportedLayerError(f"fine-tuning supports LatencyMLP models, not {type(model).__name__}")
    bits = int(weight_bits or profile["arithmetic.weight_bits"])
    loss_of = _loss(metadata, model)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    train = load_split(metadata["dataset"], "train")
    x, y = torch.from_numpy(train.x), torch.from_numpy(train.y)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
    decoder = str(metadata.get("decoder", "first_spike"))
    graph = graph_from_module(model, metadata)
    _, layers = quantize(graph, profile, encode(model, train.x[:CALIBRATION_SAMPLES]), weight_bits=bits)
    with FakeQuantizedWeights(model, bits=bits, clip_quantiles=[layer.clip_quantile for layer in layers]):
        best = (_accuracy(model, x, y, decoder), copy.deepcopy(model.state_dict()))
        for _ in range(epochs):
            model.train()
            order = torch.randperm(len(x), generator=generator)
            for start in range(0, len(order), batch_size):
                batch = order[start : start + batch_size]
                layer_spikes, v_pre = model(x[batch])
                loss = loss_of(layer_spikes[-1], v_pre, y[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            scheduler.step()
            accuracy = _accuracy(model, x, y, decoder)
            if accuracy > best[0]:
                best = (accuracy, copy.deepcopy(model.state_dict()))
        model.load_state_dict(best[1])
    model.eval()
    return model


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, decoder: str) -> float:
    model.eval()
    with torch.no_grad():
        layer_spikes, v_pre = model(x)
    decision = decide(layer_spikes[-1].transpose(0, 1).numpy(), v_pre.transpose(0, 1).numpy(), decoder)
    return float((decision.label == y.numpy()).mean())
