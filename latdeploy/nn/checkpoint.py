"""The latdeploy model file: architecture config + state_dict + metadata.

A model file is a plain ``torch.save`` of a dict that holds only strings, numbers,
lists, dicts and tensors, so :func:`load` reads it with
``torch.load(..., weights_only=True)`` and never unpickles arbitrary objects.

Model files are untrusted input. Their ``config`` and ``metadata`` may nest at most
:data:`LIMITS` ``["nesting"]`` levels deep. Before anything is allocated at the size a file
asks for, :func:`load` builds the architecture on PyTorch's ``meta`` device (shapes
only, no memory) and checks its parameter count against :data:`LIMITS`; then it moves it to
the CPU uninitialised (bounded by that limit) and runs the encoder and the network on an *empty* batch
(``[0, *input_shape]``: every layer's shape, no activation memory) of the metadata's
``input_shape`` (the encoder must give ``[T, batch, ...]`` spikes the first layer takes),
checking each layer's size per sample. An architecture whose forward refuses an empty batch
is run on one meta sample instead (that imports ``torch._dynamo``, ~2 s, which the empty
batch avoids). Weights must be real numbers (no complex, object
or quantized tensors), dense, finite and match the architecture tensor for tensor.
Full-module pickles (``torch.save(model)``) are read only with ``trust_pickle=True``
(``latdeploy export --trust-pickle``), which runs whatever code the file holds and
therefore warns.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from latdeploy.errors import ModelFormatError, one_line
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.ir import Graph
from latdeploy.nn.network import build_model, sequential_config
from latdeploy.report.bundle import atomic_file
from latdeploy.untrusted.json_document import check_nesting

FORMAT_NAME = "latdeploy-model"
FORMAT_VERSION = 1
SAVED_ENCODER_KEY = "encoder_config"
"""Graph metadata of a model saved as its float graph: the encoder (``{"encoder": name}``) its inputs take."""
REQUIRED_METADATA = ("input_shape", "timesteps", "encoder", "dataset", "classes")
REAL_DTYPES = frozenset(
    {
        torch.float16, torch.bfloat16, torch.float32, torch.float64,
        torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.bool,
    }
)  # fmt: skip
"""Tensor element types a model file's weights may have (real numbers)."""

LIMITS = {
    "file_bytes": 2**31,
    "timesteps": 10_000,
    "classes": 1_000_000,
    "parameters": 2**27,
    "activations_per_step": 2**24,
    "nesting": 32,
}
"""Upper bounds on what a model file may ask for (memory stays bounded by these)."""


class TrustedPickleWarning(UserWarning):
    """A model file is being unpickled with full pickle: it may run arbitrary code."""


GRAPH_SUFFIX = ".onnx"
"""The suffix of a model saved as its float graph (:func:`save` of a network that is not latdeploy's)."""
PROBE_METADATA = {"input_shape": [1], "timesteps": 1, "encoder": "latency"}
"""Metadata for asking :func:`sequential_config` whether a Sequential's layers have a config form."""
GRAPH_ENCODERS = ("latency",)
"""Encoders a model saved as its float graph may name (they take no trained weights); ``None``: its
inputs are already-encoded spikes."""


def save(
    model: nn.Module,
    path: str | os.PathLike[str],
    metadata: dict[str, Any] | None = None,
    *,
    input_shape: list[int] | tuple[int, ...] | None = None,
    timesteps: int | None = None,
    encoder: str | None = "latency",
    classes: int | None = None,
    dataset: str | None = None,
    force: bool = False,
) -> Path:
    """Write ``model`` to ``path`` atomically, in a form latdeploy reads back without unpickling code.
    An existing file at ``path`` is replaced only with ``force`` (it may be the user's own).

    A model built by :func:`latdeploy.nn.build_model`, or a plain ``nn.Sequential`` of latdeploy's blocks
    (``Conv2d``/``Linear`` without bias, ``BatchNorm2d``, pools, ``Flatten``, latdeploy's neurons), is
    written as a checkpoint: the config that rebuilds it (:func:`latdeploy.nn.network.sequential_config`)
    with its weights. Any other network the frontend converts (an snnTorch, Sinabs, Norse or SpikingJelly
    network, a Sequential of ``nn.Linear`` and framework neurons) is written as its float graph
    (:func:`latdeploy.frontend.torch_module.graph_from_module`) in latdeploy's ONNX form, so ``path``
    must end in ``.onnx``; its metadata names the encoder that turns analog inputs into its spikes
    (``encoder``: one of :data:`GRAPH_ENCODERS`, or None for inputs that are already spikes).

    The per-step ``input_shape``, ``timesteps``, ``encoder``, ``classes`` and ``dataset`` are taken
    from the keyword arguments, else from ``metadata`` (``classes`` defaults to the output layer's
    size for a graph, ``dataset`` to ``"user-data"``); anything else JSON-like in ``metadata``
    (accuracy, train command) is kept as is.

    Returns:
        The path written.

    Raises:
        ModelFormatError: if the input shape or ``timesteps`` is missing, the encoder is unknown, a
            network that is not latdeploy's is not saved to a ``.onnx`` path, or the metadata misses keys.
        UnsupportedLayerError: if the frontend cannot convert a layer of the network.
        OutputPathError: if ``path`` exists and ``force`` is not given, or cannot be written.
    """
    from latdeploy.report.output_paths import check_file_output

    given = {"input_shape": input_shape, "timesteps": timesteps, "classes": classes, "dataset": dataset}
    metadata = {**(metadata or {}), **{key: value for key, value in given.items() if value is not None}}
    if "encoder" not in metadata or encoder != "latency":
        metadata["encoder"] = encoder
    metadata.setdefault("dataset", "user-data")
    path = check_file_output(Path(path), "model", (), force, flag="path")
    config = getattr(model, "config", None)
    if path.suffix.lower() == GRAPH_SUFFIX or not saves_as_checkpoint(model):
        return _save_graph(model, path, metadata)
    missing = [key for key in REQUIRED_METADATA if metadata.get(key) is None]
    if missing:
        raise ModelFormatError(f"metadata lacks required keys {missing}")
    state_dict = model.state_dict()
    if not isinstance(config, dict):
        config, keys = sequential_config(model, metadata)  # type: ignore[arg-type]
        state_dict = {keys[name]: tensor for name, tensor in state_dict.items()}
    payload = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config": dict(config),
        "state_dict": {name: tensor.detach().cpu().clone() for name, tensor in state_dict.items()},
        "metadata": dict(metadata),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()  # torch.save names its archive after a file's name: a buffer names it 'archive' always
    torch.save(payload, buffer)
    with atomic_file(path) as temporary:
        temporary.write_bytes(buffer.getvalue())
    return path


def saves_as_checkpoint(model: nn.Module) -> bool:
    """Return True when :func:`save` writes ``model`` as a checkpoint (built by ``build_model``, or a
    Sequential of latdeploy's blocks); False when it writes its float graph (``.onnx``)."""
    return isinstance(getattr(model, "config", None), dict) or _is_latdeploy_sequential(model)


def _is_latdeploy_sequential(model: nn.Module) -> bool:
    """Return True for an ``nn.Sequential`` of latdeploy's blocks only (one :func:`sequential_config` saves)."""
    if not isinstance(model, nn.Sequential):
        return False
    try:
        sequential_config(model, PROBE_METADATA)
    except ModelFormatError:
        return False
    return True


def _save_graph(model: nn.Module, path: Path, metadata: dict[str, Any]) -> Path:
    """Write the float graph of ``model`` (any network the frontend converts) with ``metadata`` to the
    ``.onnx`` file ``path`` (see :func:`save`).

    Raises:
        ModelFormatError: for a path without ``.onnx``, a missing input shape or ``timesteps``, an unknown encoder.
        UnsupportedLayerError: for a layer the frontend cannot convert.
    """
    if path.suffix.lower() != GRAPH_SUFFIX and isinstance(model, nn.Sequential):
        try:
            sequential_config(model, PROBE_METADATA)
        except ModelFormatError as error:  # say why it is no checkpoint, and where the graph form goes
            raise ModelFormatError(
                f"{error}; or give a path ending in {GRAPH_SUFFIX} to save its float graph"
            ) from error
    if path.suffix.lower() != GRAPH_SUFFIX:
        raise ModelFormatError(
            f"{path}: a {type(model).__name__} that is not built from latdeploy's blocks is saved as its float "
            f"graph; give a path ending in {GRAPH_SUFFIX}"
        )
    missing = [key for key in ("input_shape", "timesteps") if metadata.get(key) is None]
    if missing:
        raise ModelFormatError(f"{path}: saving {type(model).__name__} needs {' and '.join(missing)}")
    encoder = metadata["encoder"]
    if encoder is not None and encoder not in GRAPH_ENCODERS:
        raise ModelFormatError(
            f"{path}: encoder {encoder!r} cannot be saved with a graph; give one of {list(GRAPH_ENCODERS)} "
            "or None (inputs that are already spikes)"
        )
    with torch.no_grad():
        graph = graph_from_module(model.eval(), metadata)
    kept = {
        **{key: value for key, value in metadata.items() if key != "encoder"},
        "input_shape": [int(n) for n in metadata["input_shape"]],
        "timesteps": int(metadata["timesteps"]),
        "classes": int(metadata.get("classes") or graph.neurons()[-1].size),
        "encoder": "none" if encoder is None else encoder,
    }
    if encoder is not None:
        kept[SAVED_ENCODER_KEY] = {"encoder": encoder}
    check_nesting(kept, f"{path}: metadata", LIMITS["nesting"])
    saved = Graph(graph.nodes, {**graph.metadata, **kept})
    path.parent.mkdir(parents=True, exist_ok=True)
    from latdeploy.ir.onnx_io import write_onnx  # onnx only where a graph is saved (not on checkpoint load)

    with atomic_file(path) as temporary:
        write_onnx(saved, temporary)
    return path


def _short(value: Any, limit: int = 60) -> str:
    """Return ``repr(value)`` on one line, cut to ``limit`` characters."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _load_failure_reason(error: Exception) -> str:
    """Return the specific line of a ``torch.load`` failure (torch's own advice is left out)."""
    text = str(error)
    if "WeightsUnpickler error:" in text:
        detail = text.split("WeightsUnpickler error:", 1)[1].split("Check the documentation", 1)[0]
        detail = " ".join(detail.split()).rstrip(".")
        if detail:
            return detail[:200]
    return " ".join(text.split()[:12])[:200] or type(error).__name__


ZIP_MAGIC = b"PK\x03\x04"
"""The first bytes of a ``torch.save`` file (a zip archive)."""
LEGACY_MAGIC = b"\x80"
"""The first byte of a checkpoint in torch's legacy (pre-1.6) format."""
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _is_onnx(path: Path) -> bool:
    """Return True if ``path`` parses as an ONNX model with a graph (a protobuf, first field ``ir_version``)."""
    import onnx  # only for a file that is not a checkpoint, to name what it is

    try:
        model = onnx.load_model(str(path), load_external_data=False)
    except Exception:  # onnx raises DecodeError and others for anything that is not ONNX
        return False
    return model.HasField("graph") and model.ir_version > 0


def check_checkpoint_bytes(path: Path) -> None:
    """Refuse a file that is not a torch checkpoint (a zip archive, or torch's legacy format) by what it is.

    Raises:
        ModelFormatError: naming the format found (HDF5, ONNX, empty, other) and the suffix to give it.
    """
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(ZIP_MAGIC) or head.startswith(LEGACY_MAGIC):
        return
    if head.startswith(HDF5_MAGIC):
        found = "an HDF5 file (a NIR graph or a lava-dl network?); name it .nir or .net to read it as one"
    elif not head:
        found = "an empty file"
    elif head[:1] == b"\x08" and _is_onnx(path):
        found = "an ONNX model; name it .onnx to read it as a graph"
    else:
        found = f"not a torch checkpoint (torch.save writes a zip archive; this file starts with 0x{head.hex()})"
    raise ModelFormatError(f"{path}: {found}; expected a latdeploy model file written by latdeploy.save")


def _read_payload(path: Path, trust_pickle: bool) -> Any:
    """Unpickle ``path``: weights-only unless ``trust_pickle`` (which warns)."""
    size = path.stat().st_size
    if size > LIMITS["file_bytes"]:
        raise ModelFormatError(f"{path}: file is {size} bytes, more than the limit of {LIMITS['file_bytes']}")
    check_checkpoint_bytes(path)
    if trust_pickle:
        warnings.warn(
            f"{path}: unpickled with --trust-pickle; this runs any code the file contains",
            TrustedPickleWarning,
            stacklevel=3,
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except Exception as error:  # torch raises many types for corrupt or unsafe files
        hint = (
            "model files are read weights-only and never unpickle code; pass --trust-pickle only for a file you trust"
            if not trust_pickle
            else "the file is corrupt"
        )
        raise ModelFormatError(
            f"{path}: not a loadable latdeploy model file ({_load_failure_reason(error)}); {hint}"
        ) from error


def _from_module(path: Path, module: nn.Module) -> dict[str, Any]:
    """Turn a trusted full-module pickle into the plain payload :func:`save` writes."""
    config, metadata = getattr(module, "config", None), getattr(module, "metadata", None)
    if not isinstance(config, dict) or not isinstance(metadata, dict):
        raise ModelFormatError(
            f"{path}: a full-module pickle needs dict attributes 'config' and 'metadata' "
            "(a model built by latdeploy.nn.build_model); save it with latdeploy.save instead"
        )
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config": config,
        "state_dict": module.state_dict(),
        "metadata": metadata,
    }


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _check_metadata(path: Path, metadata: dict[str, Any]) -> None:
    """Raise ModelFormatError naming the first metadata field that is malformed or absurd."""
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise ModelFormatError(f"{path}: metadata lacks required keys {missing}")
    timesteps = metadata["timesteps"]
    if not _positive_int(timesteps) or timesteps > LIMITS["timesteps"]:
        raise ModelFormatError(
            f"{path}: metadata field 'timesteps' must be an integer in [1, {LIMITS['timesteps']}], "
            f"got {_short(timesteps)}"
        )
    shape = metadata["input_shape"]
    if (
        not isinstance(shape, (list, tuple))
        or not 1 <= len(shape) <= 4
        or not all(_positive_int(n) for n in shape)
        or math.prod(shape) > LIMITS["activations_per_step"]
    ):
        raise ModelFormatError(
            f"{path}: metadata field 'input_shape' must be 1 to 4 positive integers with at most "
            f"{LIMITS['activations_per_step']} elements, got {_short(shape)}"
        )
    classes = metadata["classes"]
    if not _positive_int(classes) or classes > LIMITS["classes"]:
        raise ModelFormatError(
            f"{path}: metadata field 'classes' must be an integer in [1, {LIMITS['classes']}], got {_short(classes)}"
        )
    for key in ("encoder", "dataset"):
        if not isinstance(metadata[key], str):
            raise ModelFormatError(f"{path}: metadata field {key!r} must be a string, got {_short(metadata[key])}")


def _build(path: Path, config: dict[str, Any]) -> nn.Module:
    """Build ``config`` (on the current default device), naming the file in any config error."""
    timesteps = config.get("timesteps")
    if not _positive_int(timesteps) or timesteps > LIMITS["timesteps"]:
        raise ModelFormatError(
            f"{path}: config field 'timesteps' must be an integer in [1, {LIMITS['timesteps']}], "
            f"got {_short(timesteps)}"
        )
    try:
        return build_model(config)
    except ModelFormatError as error:
        raise ModelFormatError(f"{path}: {_one_line(error)}") from error
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError, OverflowError, ZeroDivisionError) as error:
        reason = f"{type(error).__name__}: {_one_line(error)[:200]}"
        raise ModelFormatError(f"{path}: invalid config ({reason})") from error


def _check_shapes(path: Path, config: dict[str, Any], metadata: dict[str, Any], state_dict: dict[Any, Any]) -> None:
    """Build the architecture on the meta device, check its size, its layers (:func:`_largest_layer`)
    and the weights against it.

    Raises:
        ModelFormatError: for an architecture beyond :data:`LIMITS`, a missing,
            unexpected, mis-shaped or non-finite tensor.
    """
    with torch.device("meta"):
        skeleton = _build(path, config)
    expected = skeleton.state_dict()
    parameters = sum(tensor.numel() for tensor in expected.values())
    if parameters > LIMITS["parameters"]:
        raise ModelFormatError(
            f"{path}: config field 'sizes'/'layers' asks for {parameters} weights, "
            f"more than the limit of {LIMITS['parameters']}"
        )
    largest = _largest_layer(path, config, skeleton, metadata)
    if largest > LIMITS["activations_per_step"]:
        raise ModelFormatError(
            f"{path}: config asks for a layer of {largest} neurons, more than the limit of "
            f"{LIMITS['activations_per_step']}"
        )
    for name, tensor in state_dict.items():
        if not isinstance(name, str) or not isinstance(tensor, torch.Tensor):
            raise ModelFormatError(f"{path}: state_dict entry {_short(name)} is not a named tensor")
        if tensor.dtype not in REAL_DTYPES or tensor.layout != torch.strided:
            kind = str(tensor.dtype) if tensor.dtype not in REAL_DTYPES else f"layout {tensor.layout}"
            raise ModelFormatError(
                f"{path}: state_dict field {name!r} holds {kind} values; weights must be dense real numbers"
            )
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    if missing or unexpected:
        raise ModelFormatError(
            f"{path}: weights do not fit the architecture (missing {_short(missing)}, unexpected {_short(unexpected)})"
        )
    for name, tensor in state_dict.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise ModelFormatError(
                f"{path}: weights do not fit the architecture (state_dict field {name!r} has shape "
                f"{list(tensor.shape)}, the config needs {list(expected[name].shape)})"
            )
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ModelFormatError(f"{path}: state_dict field {name!r} holds NaN or infinite values")


def _largest_layer(path: Path, config: dict[str, Any], skeleton: nn.Module, metadata: dict[str, Any]) -> int:
    """Move the meta ``skeleton`` to the CPU uninitialised (its state is bounded by the parameter
    limit; nothing reads it) and run it on an empty batch of ``metadata["input_shape"]``: real
    kernels, every shape, no activation memory, and no ``torch._dynamo`` (which meta kernels
    import). If its forward refuses an empty batch, run the architecture on one meta sample instead.

    Returns:
        The most outputs of any layer for one sample and step (0 if an op has no meta kernel).

    Raises:
        ModelFormatError: as :func:`_run_on_meta`.
    """
    try:
        # eval(): BatchNorm in training mode refuses a batch without samples
        return _run_on_meta(path, _uninitialised_on_cpu(skeleton).eval(), metadata, batch=0, check=False)
    except Exception:  # e.g. a reduction over the empty batch; the meta run gives the verdict (or the message)
        with torch.device("meta"):
            return _run_on_meta(path, _build(path, config), metadata)


def _uninitialised_on_cpu(skeleton: nn.Module) -> nn.Module:
    """Return ``skeleton`` (built on the meta device) with every parameter and buffer replaced by an
    uninitialised CPU tensor of its shape and dtype, as ``Module.to_empty(device="cpu")`` does but
    with ``torch.empty`` instead of ``torch.empty_like`` of a meta tensor, whose Python reference
    implementation imports ``torch.fx.experimental.symbolic_shapes`` and sympy (~0.5-0.9 s)."""
    return skeleton._apply(lambda tensor: torch.empty(tuple(tensor.shape), dtype=tensor.dtype, device="cpu"))


def _run_on_meta(path: Path, skeleton: nn.Module, metadata: dict[str, Any], batch: int = 1, check: bool = True) -> int:
    """Run ``skeleton`` (on the meta device, or for real with ``batch=0``) on ``batch`` samples of
    ``metadata["input_shape"]``.

    ``check=False`` lets every error of the run through as it is (the empty-batch run of
    :func:`_largest_layer`, whose errors the meta run then judges).

    Returns:
        The most outputs of any layer for one sample and step (0 if an op has no meta kernel).

    Raises:
        ModelFormatError: if the encoder does not take that input or does not give
            ``[T, batch, ...]`` spikes, or the network does not take the encoder's output.
    """
    shape = metadata["input_shape"]
    encoder_name = getattr(skeleton, "config", {}).get("encoder", metadata["encoder"])
    sizes: list[int] = [0]

    def record(_module: nn.Module, _inputs: Any, output: Any) -> None:
        outputs = output if isinstance(output, (tuple, list)) else (output,)
        for item in outputs:
            if isinstance(item, torch.Tensor) and item.dim() >= 2:
                per_sample = [size for size in item.shape[1:] if size != 0]  # the empty batch's 0 is no size
                sizes.append(math.prod(per_sample) if item.dim() > 2 else int(item.shape[-1]))

    hooks = [module.register_forward_hook(record) for module in skeleton.modules() if module is not skeleton]
    try:
        with torch.no_grad():
            encoder = getattr(skeleton, "encoder", None)
            if isinstance(encoder, nn.Module):
                spikes = encoder(torch.zeros(batch, *shape))
                if not isinstance(spikes, torch.Tensor) or spikes.dim() < 3 or spikes.shape[1] != batch:
                    got = list(spikes.shape) if isinstance(spikes, torch.Tensor) else type(spikes).__name__
                    raise ModelFormatError(
                        f"{path}: encoder {encoder_name!r} turns metadata field 'input_shape' {_short(shape)} into "
                        f"{got}, not [timesteps, batch, ...] spikes; the encoder does not fit the input"
                    )
            skeleton(torch.zeros(batch, *shape))
    except NotImplementedError:  # an op without a meta kernel: the parameter bound still holds
        if not check:
            raise
    except ModelFormatError:
        raise
    except Exception as error:  # torch raises IndexError, RuntimeError, ValueError for a mismatch
        if not check:
            raise
        raise ModelFormatError(
            f"{path}: metadata field 'input_shape' {_short(shape)} does not fit encoder {encoder_name!r} and the "
            f"network ({one_line(error)[:200]})"
        ) from error
    finally:
        for hook in hooks:
            hook.remove()
    return max(sizes)


def load(path: str | os.PathLike[str], trust_pickle: bool = False) -> tuple[nn.Module, dict[str, Any]]:
    """Read a model file written by :func:`save` without unpickling code.

    With ``trust_pickle=True`` the file is unpickled in full (a
    :class:`TrustedPickleWarning` is issued): it may then also be a full-module
    pickle, ``torch.save(model)`` of a model with dict attributes ``config`` and
    ``metadata``. Either way the returned module is rebuilt from the config.

    Returns:
        ``(model, metadata)``: the rebuilt module in eval mode and the metadata
        dict, with ``config`` and ``format_version`` added to it.

    Raises:
        ModelFormatError: if the file is missing, not a latdeploy model, of an
            unknown format version, beyond :data:`LIMITS`, its encoder does not take
            its input shape, or its tensors are not real, non-finite or do not fit its
            architecture. The message names the file
            and the field.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(f"{path}: no such model file")
    payload = _read_payload(path, trust_pickle)
    if trust_pickle and isinstance(payload, nn.Module):
        payload = _from_module(path, payload)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise ModelFormatError(f"{path}: not a latdeploy model file (no format '{FORMAT_NAME}')")
    version = payload.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise ModelFormatError(
            f"{path}: model format version {_short(version)} is not supported (this latdeploy reads {FORMAT_VERSION})"
        )
    config, state_dict, metadata = (payload.get(key) for key in ("config", "state_dict", "metadata"))
    if not isinstance(config, dict) or not isinstance(state_dict, dict) or not isinstance(metadata, dict):
        raise ModelFormatError(f"{path}: 'config', 'state_dict' and 'metadata' must all be dicts")
    check_nesting(config, f"{path}: field 'config'", LIMITS["nesting"])
    check_nesting(metadata, f"{path}: field 'metadata'", LIMITS["nesting"])
    _check_metadata(path, metadata)
    _check_shapes(path, config, metadata, state_dict)
    model = _build(path, config)
    try:
        model.load_state_dict(state_dict, strict=True)
    except (RuntimeError, TypeError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelFormatError(f"{path}: weights do not fit the architecture ({first_line[:200]})") from error
    model.eval()
    return model, {**metadata, "config": dict(config), "format_version": version}
