"""The latdeploy model file: architecture config + state_dict + metadata.

A model file is a plain ``torch.save`` of a dict that holds only strings, numbers,
lists, dicts and tensors, so :func:`load` reads it with
``torch.load(..., weights_only=True)`` and never unpickles arbitrary objects.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from latdeploy.errors import ModelFormatError
from latdeploy.nn.network import build_model

FORMAT_NAME = "latdeploy-model"
FORMAT_VERSION = 1
REQUIRED_METADATA = ("input_shape", "timesteps", "encoder", "dataset", "classes")


def save(model: nn.Module, path: str | os.PathLike[str], metadata: dict[str, Any]) -> Path:
    """Write ``model`` (built by :func:`latdeploy.nn.build_model`) to ``path`` atomically.

    ``metadata`` must hold at least ``input_shape``, ``timesteps``, ``encoder``,
    ``dataset`` and ``classes``; anything else JSON-like (accuracy, train command)
    is kept as is.

    Returns:
        The path written.

    Raises:
        ModelFormatError: if the model has no ``config`` or metadata keys are missing.
    """
    config = getattr(model, "config", None)
    if not isinstance(config, dict):
        raise ModelFormatError("model has no 'config' dict; build it with latdeploy.nn.build_model")
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise ModelFormatError(f"metadata lacks required keys {missing}")
    payload = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config": dict(config),
        "state_dict": {name: tensor.detach().cpu().clone() for name, tensor in model.state_dict().items()},
        "metadata": dict(metadata),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        os.chmod(temporary, 0o644)
        torch.save(payload, temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def _load_failure_reason(error: Exception) -> str:
    """Return the specific line of a ``torch.load`` failure (torch's own advice is left out)."""
    text = str(error)
    if "WeightsUnpickler error:" in text:
        detail = text.split("WeightsUnpickler error:", 1)[1].split("Check the documentation", 1)[0]
        detail = " ".join(detail.split()).rstrip(".")
        if detail:
            return detail
    return " ".join(text.split()[:12]) or type(error).__name__


def load(path: str | os.PathLike[str]) -> tuple[nn.Module, dict[str, Any]]:
    """Read a model file written by :func:`save` without unpickling code.

    Returns:
        ``(model, metadata)``: the rebuilt module in eval mode and the metadata
        dict, with ``config`` and ``format_version`` added to it.

    Raises:
        ModelFormatError: if the file is missing, not a latdeploy model, of an
            unknown format version, or its tensors do not fit its architecture.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(f"{path}: no such model file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for corrupt or unsafe files
        raise ModelFormatError(
            f"{path}: not a loadable latdeploy model file ({_load_failure_reason(error)}); "
            "model files are read weights-only and never unpickle code"
        ) from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise ModelFormatError(f"{path}: not a latdeploy model file (no format '{FORMAT_NAME}')")
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFormatError(
            f"{path}: model format version {version!r} is not supported (this latdeploy reads {FORMAT_VERSION})"
        )
    config, state_dict, metadata = (payload.get(key) for key in ("config", "state_dict", "metadata"))
    if not isinstance(config, dict) or not isinstance(state_dict, dict) or not isinstance(metadata, dict):
        raise ModelFormatError(f"{path}: 'config', 'state_dict' and 'metadata' must all be dicts")
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise ModelFormatError(f"{path}: metadata lacks required keys {missing}")
    try:
        model = build_model(config)
    except ModelFormatError as error:
        raise ModelFormatError(f"{path}: {error}") from error
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        first_line = str(error).strip().splitlines()[0]
        raise ModelFormatError(f"{path}: weights do not fit the architecture ({first_line})") from error
    model.eval()
    return model, {**metadata, "config": dict(config), "format_version": version}
