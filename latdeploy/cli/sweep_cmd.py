"""``latdeploy sweep``: accuracy, parity and energy per weight bit width, one table and a Pareto plot."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from latdeploy.cli.app import cli
from latdeploy.cli.format import sweep_lines
from latdeploy.cli.options import (
    backend_option,
    data_options,
    dt_option,
    execution_of,
    executor_options,
    force_option,
    gate_options,
    hardware_samples_option,
    profile_option,
    samples_option,
)
from latdeploy.cli.progress import detail_of, stage_progress
from latdeploy.errors import EXIT_GATE_FAILURE
from latdeploy.report.output_paths import check_directory_output
from latdeploy.verify.gates import Gates


def _bits(value: str) -> list[int]:
    try:
        bits = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers, e.g. 8,6,4,2") from None
    if not bits or any(not 1 <= b <= 8 for b in bits):
        raise click.BadParameter(f"{value!r}: give bit widths in 1..8, e.g. 8,6,4,2")
    return bits


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@profile_option(help_text="Chip profile name or YAML path.")
@click.option("--weight-bits", "weight_bits", default="8,6,4,2", show_default=True, help="Bit widths to compare.")
@samples_option()
@hardware_samples_option(5)
@backend_option()
@click.option(
    "-o", "--out", type=click.Path(path_type=Path), default=None, help="Directory for sweep.json + pareto.svg."
)
@click.option("--json", "as_json", is_flag=True, help="Print sweep.json's content instead of the table.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@gate_options()
@force_option()
@data_options()
@dt_option()
@executor_options()
def sweep(
    model: Path,
    profile_name: str,
    weight_bits: str,
    samples: int | None,
    hardware_samples: int,
    backend: str | None,
    out: Path | None,
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
    """Quantize MODEL at each weight bit width; compare accuracy, parity and energy (with a Pareto plot).

    Settings whose fixed-point accuracy is more than --max-accuracy-drop points below float are left
    off the Pareto front (greyed in the plot). Exit status 4 when no setting passes every gate.
    """
    from latdeploy.data.source import data_paths, record_lines
    from latdeploy.flows.sweep import sweep as run_sweep
    from latdeploy.flows.sweep import write_sweep
    from latdeploy.untrusted.text import printable

    bits = _bits(weight_bits)
    gates = Gates(max_accuracy_drop, min_agreement)
    out = Path(out) if out is not None else Path(f"{Path(model).stem}.sweep")
    check_directory_output(out, [Path(model), Path(profile_name), *data_paths(data, calibration_data)], force)
    with stage_progress(len(bits), quiet or as_json, "sweep") as advance:
        result = run_sweep(
            model,
            profile_name,
            bits,
            samples,
            hardware_samples,
            progress=advance,
            backend=backend,
            data=data,
            calibration_data=calibration_data,
            gates=gates,
            execution=execution_of(executor, ray_address, chunk_samples, memory_limit, detail_of(advance)),
            dt=dt,
        )
    write_sweep(result, out, f"{Path(model).name} on {profile_name}")
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        if "data" in result:
            click.echo(printable("\n".join(record_lines(result["data"]))))
        click.echo("\n".join(sweep_lines(result)))
        click.echo(f"written     {out}/sweep.json, {out}/pareto.svg")
    if not any(setting["gates"]["passed"] for setting in result["settings"]):
        click.echo("gate failure: no weight bit width passes every gate (see sweep.json)", err=True)
        sys.exit(EXIT_GATE_FAILURE)
