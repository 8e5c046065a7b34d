"""Where a flow's data comes from: the one function (:func:`model_data`) every flow takes data through.

Without user data, evaluation takes the test split of the model's shipped dataset
(``metadata["dataset"]``) and calibration the first :data:`CALIBRATION_SAMPLES` of its training
split. With ``data`` (:func:`latdeploy.data.user.read_user_data`), evaluation takes the user's
arrays and calibration the first :data:`CALIBRATION_SAMPLES` of them, unless ``calibration_data``
names other data. Every source is checked against the model (:mod:`latdeploy.data.checks`) before
anything runs, and :attr:`ModelData.record` says what was used (it goes into ``manifest.json``
and the reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latdeploy.data.checks import DESCRIPTIONS, ENCODED, check_labels, data_kind
from latdeploy.data.registry import Split, load_split
from latdeploy.data.user import UserData, is_entry_point, read_user_data
from latdeploy.errors import InputFormatError

CALIBRATION_SAMPLES = 512
"""Samples whose spikes choose each layer's quantization scale."""

DataSpec = str | Path | UserData
"""User data: a path or ``module:function`` (:func:`latdeploy.data.user.read_user_data`), or data already read."""


@dataclass(frozen=True)
class ModelData:
    """The data of one flow: ``test`` (evaluated), ``calibration`` (chooses the quantization scales)
    and ``record``: ``{"test": {...}, "calibration": {...}}``, what each is and where it came from."""

    test: Split
    calibration: Split
    record: dict[str, Any]


def read_data(spec: DataSpec | None, memory_limit: int | None = None) -> UserData | None:
    """Return ``spec`` read (:func:`latdeploy.data.user.read_user_data`) once, for flows that use it
    several times; None and data already read come back as they are."""
    return spec if spec is None or isinstance(spec, UserData) else read_user_data(spec, memory_limit)


def data_paths(*specs: DataSpec | None) -> list[Path]:
    """Return the files and directories among ``specs`` (not entry points, not data already read)."""
    return [Path(spec) for spec in specs if isinstance(spec, (str, Path)) and not is_entry_point(str(spec))]


def _checked(
    data: DataSpec, model: torch.nn.Module, metadata: dict[str, Any], labels: bool, memory_limit: int | None
) -> tuple[Split, dict[str, Any]]:
    user = data if isinstance(data, UserData) else read_user_data(data, memory_limit)
    kind = data_kind(user.x, model, metadata, user.source)
    if user.y is None and labels:
        raise InputFormatError(f"{user.source}: field 'y' missing; expected integer class labels, one per sample")
    if user.y is not None:
        check_labels(user.y, len(user.x), int(metadata["classes"]), user.source)
    x = user.x
    if kind != ENCODED:
        counts = str(model.config.get("encoder", metadata["encoder"])) == "stc" and x.dtype == np.uint8
        dtype = np.uint8 if counts else np.float32  # event counts stay integers, as the shipped event streams
        x = np.ascontiguousarray(x.reshape(len(x), *metadata["input_shape"]), dtype=dtype)
    record = {**user.record(), "inputs": kind, "meaning": DESCRIPTIONS[kind]}
    return Split(x, user.y, encoded=kind == ENCODED), record


def _head(split: Split, count: int) -> Split:
    return Split(split.x[:count], None if split.y is None else split.y[:count], split.encoded)


def model_data(
    model: torch.nn.Module,
    metadata: dict[str, Any],
    data: DataSpec | None = None,
    calibration_data: DataSpec | None = None,
    labels: bool = True,
    calibration: bool = True,
    memory_limit: int | None = None,
) -> ModelData:
    """Return the evaluation and calibration data of ``model`` (checked against it).

    ``data`` replaces the shipped dataset's test split, ``calibration_data`` its training split
    (default: the first :data:`CALIBRATION_SAMPLES` of ``data`` when ``data`` is given). ``labels``:
    the evaluation data must have labels. ``calibration=False`` leaves the calibration split empty
    (a bundle's graphs are already quantized). ``memory_limit`` bounds the bytes of data files.

    Returns:
        The :class:`ModelData`.

    Raises:
        InputFormatError: for data that cannot be read or does not fit the model (shape, dtype,
            value range, labels), naming the source, the field and the expected value.
        ModelFormatError: when shipped data is needed and the model's dataset is not shipped.
    """
    dataset = str(metadata["dataset"])
    if data is None:
        test, test_record = load_split(dataset, "test"), {"dataset": dataset, "split": "test"}
    else:
        test, test_record = _checked(data, model, metadata, labels, memory_limit)
    if not calibration:
        return ModelData(test, _head(test, 0), {"test": test_record})
    if calibration_data is not None:
        full, calibration_record = _checked(calibration_data, model, metadata, False, memory_limit)
        calibration_record["samples"] = min(len(full.x), CALIBRATION_SAMPLES)
    elif data is not None:
        full = test
        calibration_record = {"from": "data", "samples": min(len(test.x), CALIBRATION_SAMPLES)}
    else:
        full = load_split(dataset, "train")
        calibration_record = {"dataset": dataset, "split": "train", "samples": min(len(full.x), CALIBRATION_SAMPLES)}
    return ModelData(test, _head(full, CALIBRATION_SAMPLES), {"test": test_record, "calibration": calibration_record})


def describe(record: dict[str, Any]) -> str:
    """Return one line saying what a :attr:`ModelData.record` entry is (for printed output)."""
    if "dataset" in record:
        return f"{record['dataset']} ({record['split']} split)"
    if record.get("from") == "data":
        return f"the first {record['samples']} samples of --data"
    return f"{record['source']} ({record['samples']} samples, {record['meaning']})"


def record_lines(record: dict[str, Any]) -> list[str]:
    """Return the printed lines that say which data was evaluated and which calibrated
    (a :attr:`ModelData.record`)."""
    lines = [f"data        {describe(record['test'])}"]
    if "calibration" in record:
        lines.append(f"calibration {describe(record['calibration'])}")
    return lines
