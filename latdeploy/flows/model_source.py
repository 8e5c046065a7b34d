"""A model file of any format, opened for the flows that quantize, run and verify it.

A checkpoint (``.pt``) brings its torch model: its encoder, its dataset and its float graph. A graph
file brings a graph only: ``.nir`` and float ``.onnx`` files (latdeploy's own ``graph.onnx``, a
:func:`latdeploy.save` of a framework's network) hold the float graph, which is quantized for the
profile with the calibration data; ``graph.int.onnx`` and lava-dl ``.net`` files hold the integer
graph, which runs as it is: export, verify and energy take it with ``--data`` and compare the
fixed-point simulator with the hardware; there is no float run to compare with, so every float value
of their reports is null with the reason (:data:`latdeploy.verify.parity.NO_FLOAT_REASON`). Graph
files carry no dataset, so their data is the user's (``--data``): already-encoded spikes ``[N, T,
*step]`` (``step``: the graph's input per step), or analog inputs ``[N, *input_shape]`` where the
file states an encoder (a ``host.onnx`` beside latdeploy's ``graph.onnx``, or the encoder a
:func:`latdeploy.save` file names).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from latdeploy.backends.host_onnx import run_host_onnx
from latdeploy.data.checks import DESCRIPTIONS, ENCODED, UNIT_RANGE_ENCODERS, check_labels
from latdeploy.data.registry import Split
from latdeploy.data.source import CALIBRATION_SAMPLES, DataSpec, ModelData, model_data
from latdeploy.data.user import UserData, read_user_data
from latdeploy.errors import InputFormatError, ModelFormatError, one_line
from latdeploy.flows.prepare import PreparedGraph, prepare_integer_graph, spikes_of
from latdeploy.frontend.model_file import detect_format, read_graph_file
from latdeploy.hw.profile import Profile
from latdeploy.ir import Graph
from latdeploy.ir.describe import is_integer_graph
from latdeploy.nn.checkpoint import GRAPH_ENCODERS, SAVED_ENCODER_KEY, load
from latdeploy.nn.network import make_encoder
from latdeploy.passes.base import run_passes
from latdeploy.passes.quantize import QuantizeForProfile
from latdeploy.report.bundle import BUNDLE_MODEL_FILE
from latdeploy.untrusted.json_document import load_json

ANALOG = "analog"
FORMAT_NAMES = {"onnx": "graph (.onnx)", "nir": "NIR graph (.nir)", "netx": "lava-dl network (.net)"}
HOST_FILE = "host.onnx"
HOST_PROPERTY = "latdeploy.host"
BUNDLE_MODEL_FILES = {"checkpoint": BUNDLE_MODEL_FILE, "onnx": "model.onnx", "nir": "model.nir", "netx": "model.net"}
"""The name of the model file's copy in a bundle, per format."""


@dataclass
class ModelSource:
    """An opened model file: ``format`` (:data:`latdeploy.frontend.model_file.FORMATS`), ``metadata``
    (``timesteps``, ``classes``, ``dataset``, ``input_shape`` as far as the file states them), and
    either ``model`` (a checkpoint's torch model) or the file's graph: ``float_graph`` (quantized per
    profile) or ``int_graph`` (an integer file, run as it is). ``host`` is the ONNX encoder found beside
    latdeploy's ``graph.onnx``; ``encoder`` the latdeploy encoder a saved graph names."""

    path: Path
    format: str
    metadata: dict[str, Any]
    model: nn.Module | None = None
    float_graph: Graph | None = None
    int_graph: Graph | None = None
    host: bytes | None = None
    encoder: nn.Module | None = field(default=None, repr=False)

    @property
    def is_checkpoint(self) -> bool:
        """True for a torch checkpoint (its own dataset, encoder and converter)."""
        return self.model is not None

    @property
    def integer(self) -> bool:
        """True for a file that holds an integer graph only (no quantization, no float run)."""
        return self.model is None and self.float_graph is None

    @property
    def graph(self) -> Graph:
        """The graph the file holds (float, or integer for an integer file).

        Raises:
            ModelFormatError: for a checkpoint, which holds a torch model.
        """
        graph = self.float_graph if self.float_graph is not None else self.int_graph
        if graph is None:
            raise ModelFormatError(f"{self.path}: a checkpoint holds a torch model, not a graph")
        return graph

    @property
    def analog_shape(self) -> tuple[int, ...] | None:
        """The per-sample shape of the analog inputs the file's encoder takes (None: no encoder)."""
        if self.host is None and self.encoder is None:
            return None
        shape = self.metadata.get("input_shape")
        if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 1 for n in shape):
            raise ModelFormatError(
                f"{self.path}: metadata field 'input_shape' must be positive integers, got {shape!r}"
            )
        return tuple(shape)

    def require_float(self, command: str) -> None:
        """Refuse an integer file for ``command``, which re-quantizes or trains the float model
        (``sweep``, ``finetune``; export, verify and energy take integer files as they are).

        Raises:
            ModelFormatError: naming the file, the reason and what to run instead.
        """
        if self.integer:
            raise ModelFormatError(
                f"{self.path}: holds an integer graph (already quantized), with no float model for {command} to "
                f"re-quantize or train; give the float graph or the checkpoint, or use export/verify/energy"
            )

    def with_timesteps(self, timesteps: int) -> ModelSource:
        """Return this source with its graph set to ``timesteps`` steps (a NIR file states none)."""
        graphs = {
            name: None if graph is None else Graph(graph.nodes, {**graph.metadata, "timesteps": int(timesteps)})
            for name, graph in (("float_graph", self.float_graph), ("int_graph", self.int_graph))
        }
        return replace(self, metadata={**self.metadata, "timesteps": int(timesteps)}, **graphs)


def host_info(host: bytes) -> dict[str, Any]:
    """Return a ``host.onnx``'s ``latdeploy.host`` metadata (``encoder``, ``timesteps``, ...).

    Raises:
        ModelFormatError: if the file is not a host ONNX graph written by latdeploy.
    """
    try:
        proto = onnx.load_from_string(host)
    except Exception as error:  # protobuf raises DecodeError and others for bytes that are not ONNX
        raise ModelFormatError(f"{HOST_FILE}: not an ONNX model ({one_line(error)})") from error
    props = {prop.key: prop.value for prop in proto.metadata_props}
    if HOST_PROPERTY not in props:
        raise ModelFormatError(f"{HOST_FILE}: not latdeploy's host graph (no {HOST_PROPERTY!r} metadata)")
    info = load_json(props[HOST_PROPERTY], f"{HOST_FILE}: metadata {HOST_PROPERTY!r}")
    if not isinstance(info, dict):
        raise ModelFormatError(f"{HOST_FILE}: metadata {HOST_PROPERTY!r} is not a JSON object")
    return info


def bundle_model_file(kind: str, path: Path) -> str:
    """Return the name under which a bundle keeps its copy of the model file ``path`` of format ``kind``.

    Raises:
        ModelFormatError: for a format that is not a model file.
    """
    if kind not in BUNDLE_MODEL_FILES:
        raise ModelFormatError(f"{path}: a {kind} is not a model file to keep in a bundle")
    return BUNDLE_MODEL_FILES[kind]


def _host_beside(path: Path, host_file: Path | None) -> bytes | None:
    """Return ``host_file``, else the ``host.onnx`` beside latdeploy's ``graph.onnx`` (None: none there)."""
    host = host_file if host_file is not None else path.parent / HOST_FILE
    named = host_file is not None or path.name == "graph.onnx"
    return host.read_bytes() if named and host.is_file() else None


def _saved_encoder(path: Path, graph: Graph) -> nn.Module | None:
    """Return the latdeploy encoder a :func:`latdeploy.save` graph names (None: it names none).

    Raises:
        ModelFormatError: if the named encoder is unknown or needs trained weights.
    """
    config = graph.metadata.get(SAVED_ENCODER_KEY)
    if config is None:
        return None
    if not isinstance(config, dict) or config.get("encoder") not in GRAPH_ENCODERS:
        raise ModelFormatError(
            f"{path}: metadata field {SAVED_ENCODER_KEY!r} must name the encoder 'latency' or 'stc', got {config!r}"
        )
    return make_encoder({"encoder": config["encoder"], "timesteps": graph.timesteps}).eval()


def open_source(
    path: str | Path,
    trust_pickle: bool = False,
    dt: float | None = None,
    timesteps: int | None = None,
    host_file: Path | None = None,
) -> ModelSource:
    """Open the model file ``path`` (:func:`latdeploy.frontend.model_file.detect_format`).

    ``dt`` is the time step of a NIR file that states none; ``timesteps`` the steps of a ``.net`` file
    without ``simulation/tSample``. ``trust_pickle`` as :func:`latdeploy.nn.checkpoint.load`. A float
    graph's encoder is ``host_file`` (a bundle's ``host.onnx``), else the ``host.onnx`` beside a file
    named ``graph.onnx``, else the encoder a :func:`latdeploy.save` file names, else none (its inputs
    are then already-encoded spikes).

    Returns:
        The :class:`ModelSource`.

    Raises:
        ModelFormatError: if the file is missing, unreadable or a bundle (pass its ``graph.onnx``).
        LatdeployError: from the format's reader.
    """
    path = Path(path)
    if not path.exists():
        raise ModelFormatError(f"{path}: no such model file")
    kind = detect_format(path)
    if kind == "checkpoint":
        model, metadata = load(path, trust_pickle=trust_pickle)
        return ModelSource(path, kind, metadata, model=model)
    if kind == "bundle":
        raise ModelFormatError(f"{path}: a bundle; verify or energy take it, export takes a model file")
    graph = read_graph_file(path, kind, dt=dt, timesteps=timesteps)
    metadata = dict(graph.metadata)
    metadata.setdefault("classes", int(graph.neurons()[-1].size))
    metadata.setdefault("dataset", "--data")
    if is_integer_graph(graph):
        return ModelSource(path, kind, metadata, int_graph=graph)
    return ModelSource(
        path, kind, metadata, float_graph=graph, host=_host_beside(path, host_file), encoder=_saved_encoder(path, graph)
    )


def open_with_data(
    path: str | Path,
    data: DataSpec | None,
    trust_pickle: bool = False,
    dt: float | None = None,
    host_file: Path | None = None,
    memory_limit: int | None = None,
) -> tuple[ModelSource, DataSpec | UserData | None]:
    """Open ``path`` as :func:`open_source` does, with a lava-dl ``.net`` file run for the steps of
    its data (as ``latdeploy run`` does and netx's ``Network`` can: a tutorial ``.net`` states no
    ``simulation/tSample``): the data ``[N, T, ...]`` is read first and ``T`` given to the reader.

    Returns:
        ``(source, data)``; ``data`` is then the :class:`~latdeploy.data.user.UserData` read (pass
        it on to :func:`source_data`), else as given.

    Raises:
        ModelFormatError, InputFormatError: as :func:`open_source` and
            :func:`latdeploy.data.user.read_user_data`.
    """
    timesteps = None
    if data is not None and Path(path).exists() and detect_format(Path(path)) == "netx":
        data = data if isinstance(data, UserData) else read_user_data(data, memory_limit)
        timesteps = int(data.x.shape[1]) if data.x.ndim >= 3 and data.x.shape[1] >= 1 else None
    return open_source(path, trust_pickle, dt, timesteps, host_file), data


def _shape_text(shape: tuple[int, ...]) -> str:
    return "[N, " + ", ".join(str(n) for n in shape) + "]"


def _graph_step_shapes(source: ModelSource) -> list[tuple[int, ...]]:
    """Return the per-step shapes the graph's input accepts: its size, and the stated step shape."""
    size = int(source.graph.input.size)
    shapes = [(size,)]
    stated = source.metadata.get("input_shape")
    if source.analog_shape is None and isinstance(stated, list) and math.prod(stated) == size:
        shapes.append(tuple(int(n) for n in stated))
    return shapes


def _graph_split(source: ModelSource, user: UserData, labels: bool) -> tuple[Split, dict[str, Any], int]:
    """Check ``user`` against the graph file ``source``; return the split, its record and its steps.

    Raises:
        InputFormatError: naming the source, the field and the expected shape, dtype or labels.
    """
    x, where = user.x, user.source
    analog = source.analog_shape
    steps = source.graph.timesteps if source.format != "nir" else (x.shape[1] if x.ndim >= 3 else 0)
    per_sample = tuple(x.shape[1:])
    encoded = [(steps, *step) for step in _graph_step_shapes(source)]
    if len(x) and per_sample in encoded and steps >= 1:
        kind = ENCODED
        if x.dtype != np.bool_ and not np.issubdtype(x.dtype, np.unsignedinteger):
            raise InputFormatError(f"{where}: field 'x' holds {x.dtype} spikes; expected uint8 or bool")
        if x.size and int(x.max()) > 255:
            raise InputFormatError(f"{where}: field 'x' holds a spike payload of {int(x.max())}; expected at most 255")
        x = np.ascontiguousarray(x.reshape(len(x), steps, -1), dtype=np.uint8)
    elif len(x) and analog is not None and per_sample in (analog, (math.prod(analog),)):
        kind = ANALOG
        if not np.issubdtype(x.dtype, np.floating) and not np.issubdtype(x.dtype, np.integer):
            raise InputFormatError(f"{where}: field 'x' holds {x.dtype} values; expected real numbers (float32)")
        if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
            raise InputFormatError(f"{where}: field 'x' holds NaN or infinite values; expected finite numbers")
        encoder = str(source.metadata.get("encoder"))
        if encoder in UNIT_RANGE_ENCODERS and x.size and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
            raise InputFormatError(
                f"{where}: field 'x' holds values in [{float(x.min()):g}, {float(x.max()):g}]; "
                f"the {encoder!r} encoder expects [0, 1]"
            )
        counts = (host_info(source.host)["encoder"] if source.host else encoder) == "stc" and x.dtype == np.uint8
        x = np.ascontiguousarray(x.reshape(len(x), *analog), dtype=np.uint8 if counts else np.float32)
    else:
        step = "T" if source.format == "nir" else str(steps)
        expected = "[N, " + ", ".join([step, *(str(n) for n in _graph_step_shapes(source)[-1])]) + "]"
        also = "" if analog is None else f" or {_shape_text(analog)} inputs its encoder encodes"
        raise InputFormatError(
            f"{where}: field 'x' has shape {list(x.shape)}; {source.path.name} takes {expected} encoded spikes{also}"
        )
    if user.y is None and labels:
        raise InputFormatError(f"{where}: field 'y' missing; expected integer class labels, one per sample")
    if user.y is not None:
        check_labels(user.y, len(x), int(source.metadata["classes"]), where)
    meaning = DESCRIPTIONS[ENCODED] if kind == ENCODED else "inputs the file's encoder encodes"
    record = {**user.record(), "inputs": kind, "meaning": meaning}
    return Split(x, user.y, encoded=kind == ENCODED), record, int(steps)


def _head(split: Split, count: int) -> Split:
    return Split(split.x[:count], None if split.y is None else split.y[:count], split.encoded)


def source_data(
    source: ModelSource,
    data: DataSpec | None = None,
    calibration_data: DataSpec | None = None,
    labels: bool = True,
    calibration: bool = True,
    memory_limit: int | None = None,
) -> tuple[ModelSource, ModelData]:
    """Return the evaluation and calibration data of ``source`` (checked against it), and the source
    with the data's steps where the file states none (NIR).

    A checkpoint takes its data as :func:`latdeploy.data.source.model_data`; a graph file needs
    ``data`` (it carries no dataset) and calibrates on ``calibration_data``, else the first
    :data:`~latdeploy.data.source.CALIBRATION_SAMPLES` of ``data``.

    Raises:
        InputFormatError: if a graph file comes without ``data``, or the data does not fit it.
    """
    if source.is_checkpoint:
        chosen = model_data(source.model, source.metadata, data, calibration_data, labels, calibration, memory_limit)
        return source, chosen
    if data is None:
        raise InputFormatError(
            f"{source.path}: a {FORMAT_NAMES[source.format]} file carries no dataset; give --data "
            "(an .npz with x and y, docs/data.md)"
        )
    user = data if isinstance(data, UserData) else read_user_data(data, memory_limit)
    test, test_record, steps = _graph_split(source, user, labels)
    if source.format == "nir":
        source = source.with_timesteps(steps)
    if not calibration:
        return source, ModelData(test, _head(test, 0), {"test": test_record})
    if calibration_data is not None:
        other = calibration_data if isinstance(calibration_data, UserData) else read_user_data(calibration_data)
        full, calibration_record, other_steps = _graph_split(source, other, False)
        if other_steps != steps:
            raise InputFormatError(f"{other.source}: field 'x' has {other_steps} steps; --data has {steps}")
        calibration_record["samples"] = min(len(full.x), CALIBRATION_SAMPLES)
    else:
        full, calibration_record = test, {"from": "data", "samples": min(len(test.x), CALIBRATION_SAMPLES)}
    record = {"test": test_record, "calibration": calibration_record}
    return source, ModelData(test, _head(full, CALIBRATION_SAMPLES), record)


def source_spikes(source: ModelSource, split: Split, count: int | None = None) -> np.ndarray:
    """Return the spikes ``[B, T, n]`` (uint8) of the first ``count`` samples of ``split`` (None: all):
    already-encoded data as it is, analog data through the model's or the file's encoder."""
    if source.is_checkpoint:
        return spikes_of(source.model, split, count)
    x = split.x if count is None else split.x[:count]
    if split.encoded:
        return np.ascontiguousarray(x.reshape(len(x), x.shape[1], -1), dtype=np.uint8)
    if source.host is not None:
        return np.ascontiguousarray(run_host_onnx(source.host, x)["spikes"], dtype=np.uint8)
    with torch.no_grad():
        spikes = source.encoder(torch.from_numpy(x))
    return spikes.transpose(0, 1).flatten(2).numpy().astype(np.uint8)


def prepare_source(
    source: ModelSource, profile: Profile, weight_bits: int | None, calibration: np.ndarray
) -> PreparedGraph:
    """Quantize ``source`` for ``profile`` on the ``calibration`` spikes ``[B, T, n]``
    (:func:`latdeploy.flows.prepare.prepare_integer_graph` for a checkpoint; the file's float graph
    otherwise; an integer file's graph as it is, with no float graph).

    Raises:
        QuantizationRangeError: if a layer cannot be represented in the profile's arithmetic.
        UnsupportedLayerError: for a node the quantizer cannot handle.
    """
    if source.is_checkpoint:
        return prepare_integer_graph(source.model, source.metadata, profile, weight_bits, calibration)
    if source.integer:
        return PreparedGraph(None, source.graph, [], calibration)
    quantizer = QuantizeForProfile(profile, calibration, weight_bits)
    int_graph = run_passes(source.graph, [quantizer])
    return PreparedGraph(source.graph, int_graph, quantizer.layers, calibration)
