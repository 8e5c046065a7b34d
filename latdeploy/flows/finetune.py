"""Quantization-aware fine-tuning for a hardware profile, and the float-vs-fixed agreement it aims at.

:func:`agreement_report` quantizes a model for a profile exactly as ``latdeploy export``
does (:func:`latdeploy.flows.prepare.prepare_integer_graph`) and compares the float IR
simulator with the fixed-point simulator (which equals Lava bit for bit) on the test split:
spike slots (sample, step, neuron of every layer) that agree, and both accuracies.

:func:`finetune` trains the model a few epochs through its fixed-point network
(:class:`latdeploy.nn.integer_forward.IntegerForward`: the integers ``latdeploy export`` would
choose for the current weights, run with Lava's arithmetic for every neuron kind, gradients
straight through), keeps the best epoch, and commits the float values of those integers into the
parameters. Quantizing the committed model gives the same integers (settled), so the exported
fixed-point network is the one trained, and its float model fires like it: weights on the grid
make integrate-and-fire membranes ``scale`` times the float ones, the threshold conversions keep
``>=`` versus Loihi's ``>`` exact, and a sub-LSB bias offset keeps float32 rounding from breaking
ties (see :mod:`latdeploy.nn.integer_forward` for what stays inexact: decays, negative ``weight_exp``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from latdeploy.data.registry import Split, load_split
from latdeploy.data.source import DataSpec, ModelData, data_paths, model_data, read_data
from latdeploy.errors import InputFormatError, UnsupportedLayerError
from latdeploy.flows.model_source import open_source
from latdeploy.flows.prepare import prepare_integer_graph, spikes_of
from latdeploy.frontend.model_file import detect_format
from latdeploy.hw.profile import Profile, load_profile
from latdeploy.nn import decide
from latdeploy.nn.checkpoint import load, save
from latdeploy.nn.evaluation import model_inputs
from latdeploy.nn.integer_forward import IntegerForward
from latdeploy.nn.losses import LOSSES, training_loss
from latdeploy.report.output_paths import check_file_output
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.sim.float_sim import simulate_float

VALIDATION_FRACTION = 0.2  # of the training split, held out to choose the epoch
LOGIT_SCALE = 5.0  # tools/train.py's --logit-scale default
MARGIN = 0.5  # tools/train.py's --margin default


def agreement_report(
    model: nn.Module,
    metadata: dict[str, Any],
    profile: Profile,
    weight_bits: int | None = None,
    samples: int | None = None,
    data: ModelData | None = None,
) -> dict[str, Any]:
    """Quantize ``model`` for ``profile`` and compare float and fixed point on the test split
    (``data``: the evaluation and calibration data, default :func:`latdeploy.data.source.model_data`'s).

    Returns:
        ``{weight_bits, samples, spike_slots, mismatches, agreement, accuracy_float,
        accuracy_fixed, accuracy_drop_points, per_layer: {name: mismatches}}``.

    Raises:
        LatdeployError: if the model cannot be converted or quantized.
    """
    chosen = data or model_data(model, metadata)
    prepared = prepare_integer_graph(model, metadata, profile, weight_bits, spikes_of(model, chosen.calibration))
    graph, int_graph = prepared.float_graph, prepared.int_graph
    test = chosen.test
    count = len(test.x) if samples is None else samples
    spikes, labels = spikes_of(model, test, count), test.y[:count]
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


def _loss(metadata: dict[str, Any], threshold: float) -> Callable[..., torch.Tensor]:
    """Return ``loss(spikes, v_pre, labels)``: the training loss ``tools/train.py`` used for the model."""
    name = str(metadata.get("loss", "membrane_ce"))
    fire_weight = float(metadata.get("fire_weight", 0.0))
    scale = float(metadata.get("logit_scale", LOGIT_SCALE))
    margin = float(metadata.get("margin", MARGIN))
    decoder = str(metadata.get("decoder", "first_spike"))
    if name not in LOSSES:
        raise UnsupportedLayerError(
            f"fine-tuning supports the losses {list(LOSSES)}; the model was trained with {name!r}"
        )

    def loss(spikes: torch.Tensor, v_pre: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return training_loss(
            name,
            spikes,
            v_pre,
            labels,
            threshold,
            logit_scale=scale,
            fire_weight=fire_weight,
            margin=margin,
            decoder=decoder,
        )

    return loss


def finetune(
    model: nn.Module,
    metadata: dict[str, Any],
    profile: Profile,
    weight_bits: int | None = None,
    epochs: int = 20,
    lr: float = 3e-5,
    batch_size: int = 32,
    seed: int = 0,
    validation_fraction: float = VALIDATION_FRACTION,
    train: Split | None = None,
    calibration: np.ndarray | None = None,
    progress: Callable[[str], None] | None = None,
) -> nn.Module:
    """Fine-tune ``model`` in place through its fixed-point network and return it (weights left on the grid).

    Every forward runs :class:`~latdeploy.nn.integer_forward.IntegerForward`: the integers the export
    would choose for the current weights, with Lava's arithmetic, gradients straight through. Each
    layer is clipped where post-training quantization clips it (the calibrated ``clip_quantile``).
    A seeded ``validation_fraction`` of the training split is held out (not trained on); after
    each epoch the fixed-point network's accuracy on it (ties: its loss) is measured and the
    parameters of the best epoch (the starting point counts as epoch 0) are kept and committed
    (:meth:`~latdeploy.nn.integer_forward.IntegerForward.commit`). ``train`` replaces the training
    split of the model's shipped dataset, ``calibration`` (spikes) its calibration data.
    ``progress(stage)`` is called as each epoch starts (``"epoch 3/20, held-out fixed-point accuracy 95.1 %"``).

    Raises:
        InputFormatError: if ``train`` holds already-encoded spikes (training runs the encoder).
        UnsupportedLayerError: for a model :class:`~latdeploy.nn.integer_forward.IntegerForward` cannot
            run, or whose loss is not in :data:`LOSSES`.
    """
    bits = int(weight_bits or profile["arithmetic.weight_bits"])
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    train = load_split(metadata["dataset"], "train") if train is None else train
    if train.encoded:
        raise InputFormatError("fine-tuning needs inputs the model's encoder encodes; the data holds encoded spikes")
    x, y = model_inputs(train.x, model.config), torch.from_numpy(train.y)
    shuffled = torch.randperm(len(x), generator=generator)
    held_out = shuffled[: int(round(validation_fraction * len(x)))]
    trained = shuffled[len(held_out) :]
    decoder = str(metadata.get("decoder", "first_spike"))
    layers = prepare_integer_graph(model, metadata, profile, bits, calibration).layers
    integer = IntegerForward(model, metadata, profile, bits, {layer.neuron: layer.clip_quantile for layer in layers})
    loss_of = _loss(metadata, float(integer.neurons[-1].threshold))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
    best = (_score(integer, x[held_out], y[held_out], decoder, loss_of), copy.deepcopy(model.state_dict()))
    for epoch in range(1, epochs + 1):
        if progress is not None:
            progress(f"epoch {epoch}/{epochs}, best held-out fixed-point accuracy {100 * best[0][0]:.1f} %")
        model.train()
        order = trained[torch.randperm(len(trained), generator=generator)]
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            layer_spikes, v_pre = integer(x[batch])
            loss = loss_of(layer_spikes[-1], v_pre, y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()
        score = _score(integer, x[held_out], y[held_out], decoder, loss_of)
        if score > best[0]:
            best = (score, copy.deepcopy(model.state_dict()))
    model.load_state_dict(best[1])
    integer.commit()
    model.eval()
    return model


def _score(
    integer: IntegerForward,
    x: torch.Tensor,
    y: torch.Tensor,
    decoder: str,
    loss_of: Callable[..., torch.Tensor],
    chunk: int = 512,
) -> tuple[float, float]:
    """Return ``(accuracy, -loss)`` of the fixed-point network on ``x`` (model inputs) against ``y``."""
    integer.model.eval()
    labels, loss = [], 0.0
    with torch.no_grad():
        for start in range(0, len(x), chunk):
            layer_spikes, v_pre = integer(x[start : start + chunk])
            loss += float(loss_of(layer_spikes[-1], v_pre, y[start : start + chunk])) * len(v_pre[0])
            spikes, potentials = layer_spikes[-1].flatten(2), v_pre.flatten(2)
            labels.append(decide(spikes.transpose(0, 1).numpy(), potentials.transpose(0, 1).numpy(), decoder).label)
    return float((np.concatenate(labels) == y.numpy()).mean()), -loss / len(x)


def finetune_file(
    model_path: Path,
    profile_name: str,
    out: Path,
    weight_bits: int | None = None,
    epochs: int = 20,
    lr: float = 3e-5,
    seed: int = 0,
    on_report: Callable[[str, dict[str, Any]], None] | None = None,
    progress: Callable[[str], None] | None = None,
    force: bool = False,
    data: DataSpec | None = None,
    calibration_data: DataSpec | None = None,
) -> dict[str, Any]:
    """``latdeploy finetune``: fine-tune the model file ``model_path`` for ``profile_name`` and write ``out``.

    With ``data`` (:func:`latdeploy.data.source.model_data`), training and the agreement reports use
    the user's data instead of the shipped dataset's splits (the held-out validation part comes from
    it too) and the record says so under ``data``; ``calibration_data`` replaces the calibration data.

    ``progress(stage)`` is called as each epoch starts (:func:`finetune`).
    ``on_report(stage, report)`` sees the :func:`agreement_report` before (``"before"``) and after
    (``"after"``) fine-tuning as each is ready. The new file's metadata keeps ``float_test_accuracy``
    and the whole record under ``finetune``. ``out`` is checked before anything else
    (:func:`latdeploy.report.output_paths.check_file_output`: a new file or a model file;
    ``force``: any regular file that is not an input).

    Returns:
        The record: ``{source_model, profile, weight_bits, epochs, lr, seed, before, after}``.

    Raises:
        OutputPathError: if ``out`` may not be written or writing it fails.
        LatdeployError: for a bad model file or profile, or a model that cannot be fine-tuned (an
            integer file, ``graph.int.onnx`` or ``.net``, is refused with the reason).
    """
    check_file_output(out, "model", [model_path, Path(profile_name), *data_paths(data, calibration_data)], force)
    show = on_report or (lambda _stage, _report: None)
    if detect_format(Path(model_path)) in ("onnx", "netx"):
        open_source(model_path, timesteps=1).require_float("finetune")  # an integer file: refused (any T)
    network, metadata = load(model_path)
    profile = load_profile(profile_name)
    data, calibration_data = read_data(data), read_data(calibration_data)
    chosen = model_data(network, metadata, data, calibration_data)
    before = agreement_report(network, metadata, profile, weight_bits, data=chosen)
    show("before", before)
    train = None if data is None else chosen.test
    calibration = spikes_of(network, chosen.calibration)
    finetune(
        network,
        metadata,
        profile,
        weight_bits,
        epochs=epochs,
        lr=lr,
        seed=seed,
        train=train,
        calibration=calibration,
        progress=progress,
    )
    after = agreement_report(network, metadata, profile, weight_bits, data=chosen)
    show("after", after)
    saved = {key: value for key, value in metadata.items() if key not in ("config", "format_version")}
    saved["float_test_accuracy"] = after["accuracy_float"]
    record = {
        "source_model": str(model_path),
        "profile": profile.name,
        "weight_bits": after["weight_bits"],
        "epochs": epochs,
        "lr": lr,
        "seed": seed,
        "before": before,
        "after": after,
        **({"data": chosen.record} if data is not None or calibration_data is not None else {}),
    }
    saved["finetune"] = json.loads(json.dumps(record))
    save(network, out, saved, force=force)
    return saved["finetune"]
