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
from latdeploy.nn.network import build_model, sequential_config
from latdeploy.report.bundle import atomic_file
from latdeploy.untrusted.json_document import check_nesting

FORMAT_NAME = "latdeploy-model"
FORMAT_VERSION = 1
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


def save(model: nn.Module, path: str | os.PathLike[str], metadata: dict[str, Any]) -> Path:
    """Write ``model`` to ``path`` atomically: a model built by :func:`latdeploy.nn.build_model`, or a
    plain ``nn.Sequential`` of latdeploy's blocks (``Conv2d``/``Linear`` without bias, ``BatchNorm2d``,
    pools, ``Flatten``, latdeploy's neurons), stored as the ``convnet`` config that rebuilds it
    (:func:`latdeploy.nn.network.sequential_config`) with its weights, so it loads back without
    unpickling code. The Sequential's input shape, ``T`` and encoder come from ``metadata``.

    ``metadata`` must hold at least ``input_shape``, ``timesteps``, ``encoder``,
    ``dataset`` and ``classes``; anything else JSON-like (accuracy, train command)
    is kept as is.

    Returns:
        The path written.

    Raises:
        ModelFormatError: if the model is neither built by ``build_model`` nor a Sequential of
            latdeploy's blocks, or metadata keys are missing.
    """
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise ModelFormatError(f"metadata lacks required keys {missing}")
    state_dict = model.state_dict()
    config = getattr(model, "config", None)
    if isinstance(model, nn.Sequential) and not isinstance(config, dict):
        config, keys = sequential_config(model, metadata)
        state_dict = {keys[name]: tensor for name, tensor in state_dict.items()}
    if not isinstance(config, dict):
        raise ModelFormatError(
            "model has no 'config' dict; build it with latdeploy.nn.build_model or pass an nn.Sequential "
            "of latdeploy's blocks"
        )
    payload = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config": dict(config),
        "state_dict": {name: tensor.detach().cpu().clone() for name, tensor in state_dict.items()},
        "metadata": dict(metadata),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()  # torch.save names its archive after a file's name: a buffer names it 'archive' always
    torch.save(payload, buffer)
    with atomic_file(path) as temporary:
        temporary.write_bytes(buffer.getvalue())
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


def _read_payload(path: Path, trust_pickle: bool) -> Any:
    """Unpickle ``path``: weights-only unless ``trust_pickle`` (which warns)."""
    size = path.stat().st_size
    if size > LIMITS["file_bytes"]:
        raise ModelFormatError(f"{path}: file is {size} bytes, more than the limit of {LIMITS['file_bytes']}")
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
