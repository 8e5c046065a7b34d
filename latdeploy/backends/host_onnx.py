"""The host part of a model as plain ONNX: analog input -> the spikes the chip receives.

Everything before the first spiking layer runs on the host (see
:mod:`latdeploy.passes.partition`): the input encoder, including the learnable
feature extractor of the LE encoder. :func:`host_onnx_bytes` exports it with
``torch.onnx.export`` (the TorchScript exporter, ``dynamo=False``, opset
:data:`OPSET`) as a graph of standard ``ai.onnx`` ops only, which onnxruntime (or any
ONNX runtime) runs without latdeploy:

- input ``x``: the data exactly as :func:`latdeploy.flows.prepare.encode` takes it (``[B, n]``
  images, ``[B, R, C, H, W]`` event counts; convnet images are reshaped inside), any batch size;
- output ``spikes``: ``[B, T, n]`` uint8, what :func:`latdeploy.flows.prepare.encode` returns
  (0/1 spikes, or graded STC currents), each step flattened in C order;
- LE encoder only: outputs ``features`` (``[B, n]`` float32, the extractor's linear
  output) and ``intensity`` (``sigmoid(features)``).

The spikes are the encoders' forward values (the straight-through estimator's hard
spikes; no gradients are exported). ``metadata_props["latdeploy.host"]`` holds JSON
``{encoder, timesteps, input_shape, outputs}``.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import torch
from torch import nn

from latdeploy.errors import BackendError
from latdeploy.nn.encoders import LatencyEncoder, LearnableLatencyEncoder, SpatioTemporalCompression
from latdeploy.registry import Registry

OPSET = 17
STANDARD_DOMAINS = ("", "ai.onnx")


class HostOnnxError(BackendError):
    """The host ONNX graph is invalid, uses non-standard ops, or disagrees with the torch encoder."""


HOST_ENCODERS: Registry[type[nn.Module], str] = Registry("host ONNX export")
"""The encoder classes the host part exports, each with the kind name written to ``latdeploy.host``."""
HOST_ENCODERS.add(LatencyEncoder, "latency")
HOST_ENCODERS.add(LearnableLatencyEncoder, "learned_latency")
HOST_ENCODERS.add(SpatioTemporalCompression, "stc")


class HostPart(nn.Module):
    """The host part of a model (its encoder) with :func:`latdeploy.flows.prepare.encode`'s input and output layout.

    Raises:
        UnsupportedLayerError: for an encoder class without a :data:`HOST_ENCODERS` entry.
    """

    def __init__(self, encoder: nn.Module, config: dict[str, Any]) -> None:
        super().__init__()
        self.kind = HOST_ENCODERS.get(type(encoder), subject="encoder")
        self.encoder = encoder
        images = config["arch"] != "mlp" and config.get("encoder", "latency") != "stc"
        self.input_shape: list[int] | None = list(config.get("input_shape", [3, 32, 32])) if images else None

    @property
    def output_names(self) -> list[str]:
        """Return the graph's output names (``spikes``; LE adds ``features`` and ``intensity``)."""
        return ["spikes", "features", "intensity"] if self.kind == "learned_latency" else ["spikes"]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Return ``(spikes [B, T, n] uint8,)`` plus ``(features, intensity)`` for the LE encoder."""
        if self.input_shape is not None:
            x = x.reshape(x.shape[0], *self.input_shape)
        extra: tuple[torch.Tensor, ...] = ()
        if self.kind == "learned_latency":
            features = self.encoder.features(x)
            intensity = torch.sigmoid(features)
            timesteps = self.encoder.timesteps
            # latency_spikes_ste's forward value: its hard spikes.
            continuous = (1.0 - intensity.clamp(0.0, 1.0)) * timesteps
            steps = torch.arange(timesteps, dtype=intensity.dtype).view(-1, *([1] * intensity.dim()))
            spikes = (steps == torch.round(continuous).unsqueeze(0)).to(torch.float32)
            extra = (features, intensity)
        else:
            spikes = self.encoder(x)
        return (spikes.transpose(0, 1).flatten(2).to(torch.uint8), *extra)


def host_onnx_bytes(model: nn.Module, example: np.ndarray) -> bytes:
    """Export ``model.encoder`` (the host part) to ONNX, traced on ``example`` data (``[B, ...]``).

    Returns:
        The serialized ONNX model (passes ``onnx.checker`` with ``full_check``; ``ai.onnx`` ops only).

    Raises:
        UnsupportedLayerError: if the model's encoder has no host ONNX export.
        HostOnnxError: if the exported graph fails the checker or uses a non-standard op.
    """
    part = HostPart(model.encoder, model.config).eval()
    names = part.output_names
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
        torch.onnx.export(
            part,
            (torch.from_numpy(np.ascontiguousarray(example)),),
            buffer,
            dynamo=False,
            opset_version=OPSET,
            input_names=["x"],
            output_names=names,
            dynamic_axes={name: {0: "batch"} for name in ["x", *names]},
        )
    proto = onnx.load_from_string(buffer.getvalue())
    info = {"encoder": part.kind, "timesteps": int(model.encoder.timesteps), "input_shape": part.input_shape}
    onnx.helper.set_model_props(proto, {"latdeploy.host": json.dumps({**info, "outputs": names}, sort_keys=True)})
    check_standard_onnx(proto)
    return proto.SerializeToString()


def check_standard_onnx(proto: onnx.ModelProto) -> None:
    """Run ``onnx.checker`` (full check) and require ``ai.onnx`` ops only.

    Raises:
        HostOnnxError: naming the checker's complaint or the first non-standard op.
    """
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as error:
        raise HostOnnxError(f"host ONNX graph fails onnx.checker: {error}") from error
    for node in proto.graph.node:
        if node.domain not in STANDARD_DOMAINS:
            raise HostOnnxError(f"host ONNX node {node.name!r} uses op {node.domain}.{node.op_type}")
    if any(opset.domain not in STANDARD_DOMAINS for opset in proto.opset_import):
        raise HostOnnxError(f"host ONNX imports non-standard opsets {[o.domain for o in proto.opset_import]}")


def run_host_onnx(model: bytes | Path, x: np.ndarray) -> dict[str, np.ndarray]:
    """Run a host ONNX graph (serialized bytes or a file) in onnxruntime on data ``x`` (CPU).

    Returns:
        ``{output name: array}`` (``spikes`` ``[B, T, n]`` uint8, LE also ``features`` and ``intensity``).
    """
    source = str(model) if isinstance(model, Path) else model
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    values = session.run(names, {"x": np.ascontiguousarray(x)})
    return dict(zip(names, values, strict=True))


def check_host_onnx(model: bytes | Path, x: np.ndarray, spikes: np.ndarray) -> None:
    """Require that the host graph run on ``x`` in onnxruntime gives exactly ``spikes`` (``encode``'s output).

    Raises:
        HostOnnxError: naming the number of differing spike slots.
    """
    produced = run_host_onnx(model, x)["spikes"]
    if produced.shape != spikes.shape:
        raise HostOnnxError(f"host ONNX spikes have shape {produced.shape}, the encoder's {spikes.shape}")
    differ = int(np.count_nonzero(produced != spikes))
    if differ:
        raise HostOnnxError(f"host ONNX spikes differ from the torch encoder's in {differ} of {spikes.size} slots")
