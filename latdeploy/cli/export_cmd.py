"""``latdeploy export``: model file -> verified bundle, with a short printed summary."""

from __future__ import annotations

import json
import shlex
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from latdeploy.cli.app import cli
from latdeploy.cli.format import executor_line, export_lines, gate_failure, parity_failure
from latdeploy.cli.options import (
    data_options,
    dt_option,
    execution_of,
    executor_options,
    force_option,
    gate_options,
    hardware_timeout_option,
    profile_option,
    samples_option,
    target_option,
    trust_pickle_option,
    weight_bits_option,
)
from latdeploy.cli.progress import detail_of, stage_progress
from latdeploy.errors import EXIT_GATE_FAILURE, EXIT_PARITY_FAILURE
from latdeploy.report import schema_versions
from latdeploy.untrusted.text import printable
from latdeploy.verify.gates import Gates


def json_summary(result: Any) -> dict[str, Any]:
    """The machine-readable summary of an export (``--json``): the bundle's reports and the timings."""
    return {
        "schema_version": schema_versions.EXPORT,
        "bundle": str(result.out),
        "parity_ok": result.parity_ok,
        "gates_ok": result.gates_ok,
        "parity": result.parity,
        "energy": result.energy,
        "warnings": list(result.warnings),
        "hardware_seconds": result.hardware_seconds,
        "fixed_seconds": result.fixed_seconds,
        "data": result.data,
        "executor": result.executor,
    }


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@target_option()
@click.option(
    "-o", "--out", type=click.Path(path_type=Path), default=None, help="Bundle directory [<model stem>.latdeploy]."
)
@samples_option("Test samples to verify (N or 'all').")
@profile_option()
@click.option(
    "--format",
    "formats",
    type=click.Choice(["onnx", "netx", "nir"]),
    multiple=True,
    default=("onnx",),
    show_default=True,
    help="Interchange files beside the ONNX graphs (repeatable): netx -> graph.net, nir -> graph.nir.",
)
@trust_pickle_option()
@weight_bits_option("Weight bits (1..8) instead of the profile's, for bit-width studies.")
@click.option(
    "--allow-overflow",
    is_flag=True,
    help="Export even if the 24-bit u/v overflow on calibration data (a warning instead of an error).",
)
@hardware_timeout_option()
@click.option("--json", "as_json", is_flag=True, help="Print {bundle, parity_ok, parity, energy, ...} as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@gate_options()
@force_option()
@data_options()
@dt_option()
@executor_options()
def export(
    formats: tuple[str, ...],
    model: Path,
    target: str,
    out: Path | None,
    samples: int | None,
    profile_name: str,
    trust_pickle: bool,
    weight_bits: int | None,
    allow_overflow: bool,
    hardware_timeout: float | None,
    as_json: bool,
    quiet: bool,
    force: bool,
    data: str | None,
    calibration_data: str | None,
    max_accuracy_drop: float,
    min_agreement: float,
    executor: str,
    ray_address: str | None,
    chunk_samples: int | None,
    memory_limit: int | None,
    dt: float | None,
) -> None:
    """Export MODEL to TARGET, verify it spike for spike and estimate its energy.

    The bundle holds copies of MODEL and the profile, so that it verifies and prices again without
    them. Exit status 3 when the fixed-point simulator and the hardware disagree, 4 when a gate fails
    (docs/verdicts.md); the bundle is written in both cases.
    """
    from latdeploy.data.source import record_lines
    from latdeploy.flows.export import EXPORT_STAGES
    from latdeploy.flows.export import export as run_export
    from latdeploy.nn.checkpoint import TrustedPickleWarning

    if trust_pickle:
        click.echo(f"warning: --trust-pickle: {model} is unpickled in full and may run code it contains", err=True)
        warnings.simplefilter("ignore", TrustedPickleWarning)

    with stage_progress(EXPORT_STAGES, quiet or as_json, "export") as advance:
        result = run_export(
            model,
            target=target,
            out=out,
            samples=samples,
            profile_name=profile_name,
            command_line=shlex.join(["latdeploy", *sys.argv[1:]]),
            trust_pickle=trust_pickle,
            weight_bits=weight_bits,
            allow_overflow=allow_overflow,
            formats=formats,
            timeout=hardware_timeout,
            progress=advance,
            force=force,
            data=data,
            calibration_data=calibration_data,
            gates=Gates(max_accuracy_drop, min_agreement),
            execution=execution_of(executor, ray_address, chunk_samples, memory_limit, detail_of(advance)),
            dt=dt,
        )
    if as_json:
        click.echo(json.dumps(json_summary(result), indent=2, sort_keys=True))
    else:
        lines = export_lines(
            str(result.out), result.parity, result.energy, result.hardware_seconds, result.fixed_seconds
        )
        if data is not None or calibration_data is not None:
            lines = [*record_lines(result.data), *lines]
        click.echo(printable("\n".join([*lines, executor_line(result.executor)])))
    for line in result.warnings:
        click.echo(line, err=True)
    if not result.parity_ok:
        click.echo(f"{parity_failure(result.parity)} (see parity.json)", err=True)
        sys.exit(EXIT_PARITY_FAILURE)
    if not result.gates_ok:
        click.echo(f"{gate_failure(result.parity)} (see parity.json)", err=True)
        sys.exit(EXIT_GATE_FAILURE)
