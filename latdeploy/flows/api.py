"""The Python API: :func:`export`, :func:`verify_deployment` and :func:`estimate_energy`, the library calls behind
``latdeploy export``, ``verify`` and ``energy``, on a model file or a live torch model, with the user's data.

Each returns the flow's result object, whose fields are the JSON files' (``ExportResult.parity`` is
``parity.json``, ``.energy`` is ``energy.json``, ``VerifyResult.report`` is ``verify``'s report). Errors are
the CLI's (:mod:`latdeploy.errors`), raised instead of printed. Exported as ``latdeploy.export``,
``latdeploy.verify_deployment`` and ``latdeploy.estimate_energy`` (imported on first use, so ``import latdeploy``
stays light; ``latdeploy.verify`` and ``latdeploy.energy`` are the subpackages of those names).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from torch import nn

from latdeploy.data.source import DataSpec
from latdeploy.errors import LatdeployError
from latdeploy.flows.energy import energy_of_source
from latdeploy.flows.export import ExportResult
from latdeploy.flows.export import export as export_flow
from latdeploy.flows.verify import VerifyResult, verify_source
from latdeploy.hw.profile import DEFAULT_PROFILE
from latdeploy.nn.checkpoint import GRAPH_SUFFIX, save, saves_as_checkpoint

PathLike = str | os.PathLike[str]


def _model_file(
    model: nn.Module | PathLike,
    out: Path | None,
    save_as: PathLike | None,
    metadata: dict[str, Any],
    force: bool,
) -> Path:
    """Return the model file to export: ``model`` itself if it is a path, else ``model`` saved to ``save_as``
    (default: ``out`` with the suffix ``.pt``, or ``.onnx`` for a network :func:`latdeploy.save` writes as
    its float graph) with ``metadata`` (:func:`latdeploy.save`).

    Raises:
        LatdeployError: if a live model comes without ``out`` or ``save_as``, or without the metadata
            :func:`latdeploy.save` needs.
        OutputPathError: if ``save_as`` may not be written.
    """
    if not isinstance(model, nn.Module):
        return Path(model)
    if save_as is None:
        if out is None:
            raise LatdeployError("export of a live model: give out= (the bundle) or save_as= (the model file)")
        save_as = Path(out).with_suffix(".pt" if saves_as_checkpoint(model) else GRAPH_SUFFIX)
    return save(model, Path(save_as), metadata, encoder=metadata["encoder"], force=force)


def export(
    model: nn.Module | PathLike,
    target: str | None = None,
    *,
    data: DataSpec | None = None,
    out: PathLike | None = None,
    profile: str = DEFAULT_PROFILE,
    samples: int = 100,
    calibration_data: DataSpec | None = None,
    save_as: PathLike | None = None,
    input_shape: list[int] | tuple[int, ...] | None = None,
    timesteps: int | None = None,
    encoder: str | None = "latency",
    classes: int | None = None,
    dataset: str = "user-data",
    timeout: float | None = None,
    formats: tuple[str, ...] = ("onnx",),
    force: bool = False,
    dt: float | None = None,
) -> ExportResult:
    """Export ``model`` (a model file, or a live model :func:`latdeploy.save` stores) to ``target`` and verify
    it on ``samples`` samples of ``data`` (``latdeploy export MODEL --data DATA``).

    A live model is first saved to ``save_as`` (default ``out`` with the suffix ``.pt``; never over a file
    latdeploy did not write unless ``force``), with ``input_shape`` (the per-step input, e.g. ``[100]``),
    ``timesteps``, ``encoder``, ``classes`` and ``dataset`` as its metadata, so that ``verify_deployment(out)`` finds
    it again; a network that is not latdeploy's is saved as its float graph (``.onnx``, ``encoder`` may be
    None for spike inputs and ``classes`` defaults to its outputs). ``model`` may also be a graph file
    (``.nir``, float ``.onnx``; ``dt``: the time step of a ``.nir`` file that states none), which needs
    ``data``. ``data``/``calibration_data``: an ``.npz`` (``x``, optional ``y``), a directory of such
    shards, ``"module:function"`` or data already read (:data:`latdeploy.data.source.DataSpec`).

    Returns:
        The :class:`~latdeploy.flows.export.ExportResult` (``.out``, ``.parity``, ``.energy``, ``.parity_ok``).

    Raises:
        LatdeployError: as ``latdeploy export`` (bad model, data, profile or target; nothing is written),
            and for a live model without ``out``/``save_as`` or its metadata.
    """
    metadata = {
        "input_shape": None if input_shape is None else [int(d) for d in input_shape],
        "timesteps": timesteps,
        "encoder": encoder,
        "dataset": dataset,
        "classes": classes,
    }
    if isinstance(model, nn.Module):
        optional = () if saves_as_checkpoint(model) else ("encoder", "classes")  # a graph: spikes in, its outputs
        missing = [key for key, value in metadata.items() if value is None and key not in optional]
        if missing:
            raise LatdeployError(f"export of a live model: give {', '.join(missing)} (its metadata)")
    out_path = None if out is None else Path(out)
    model_path = _model_file(model, out_path, save_as, metadata, force)
    return export_flow(
        model_path,
        target=target,
        out=out_path,
        samples=samples,
        profile_name=profile,
        command_line="latdeploy.export(...)",
        timeout=timeout,
        formats=formats,
        force=force,
        data=data,
        calibration_data=calibration_data,
        dt=dt,
    )


def verify_deployment(
    source: PathLike,
    *,
    data: DataSpec | None = None,
    samples: int | None = 100,
    hardware_samples: int = 20,
    profile: str | None = None,
    backend: str | None = None,
    calibration_data: DataSpec | None = None,
    dt: float | None = None,
) -> VerifyResult:
    """Verify ``source`` (a bundle or a model file) float vs fixed point vs ``backend`` on ``data``
    (``latdeploy verify SOURCE --data DATA``; a bundle finds the data it was exported with, checked by hash).

    Returns:
        The :class:`~latdeploy.flows.verify.VerifyResult` (``.report``: the verify report's fields).

    Raises:
        LatdeployError: as ``latdeploy verify``.
    """
    return verify_source(
        Path(source),
        samples=samples,
        hardware_samples=hardware_samples,
        profile_name=profile,
        backend=backend,
        data=data,
        calibration_data=calibration_data,
        dt=dt,
    )


def estimate_energy(
    source: PathLike,
    *,
    profiles: tuple[str, ...] = (),
    data: DataSpec | None = None,
    samples: int | None = 100,
    calibration_data: DataSpec | None = None,
    dt: float | None = None,
) -> dict[str, Any]:
    """Count and price ``source``'s synaptic operations, neuron updates and spikes on ``data`` for each of
    ``profiles`` (``latdeploy energy SOURCE --data DATA``).

    Returns:
        ``{"counts": ..., "profiles": ...}``, ``energy``'s JSON table.

    Raises:
        LatdeployError: as ``latdeploy energy``.
    """
    _, table = energy_of_source(
        Path(source), profiles, samples=samples, data=data, calibration_data=calibration_data, dt=dt
    )
    return table
