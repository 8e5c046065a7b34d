"""``latdeploy energy``: SOPs, neuron updates, spikes and energy per inference, profiles side by side."""

from __future__ import annotations

import json
from pathlib import Path

import click

from latdeploy.cli.app import cli
from latdeploy.cli.format import energy_lines
from latdeploy.cli.options import (
    data_options,
    dt_option,
    execution_of,
    executor_options,
    samples_option,
    weight_bits_option,
)
from latdeploy.hw.profile import DEFAULT_PROFILE
from latdeploy.report import schema_versions
from latdeploy.report.schema_versions import versioned
from latdeploy.untrusted.text import printable


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--profile", "profiles", multiple=True, help=f"Profile name or YAML path; repeat to compare [{DEFAULT_PROFILE}]."
)
@samples_option("Test samples to count over (N or 'all').")
@weight_bits_option("Quantize a MODEL to these weight bits.")
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=None, help="Model file of a bundle.")
@click.option("--json", "as_json", is_flag=True, help="Print {counts, profiles: [energy.json ...]} as JSON.")
@data_options()
@dt_option()
@executor_options()
def energy(
    source: Path,
    profiles: tuple[str, ...],
    samples: int | None,
    weight_bits: int | None,
    model_path: Path | None,
    as_json: bool,
    data: str | None,
    calibration_data: str | None,
    executor: str,
    ray_address: str | None,
    chunk_samples: int | None,
    memory_limit: int | None,
    dt: float | None,
) -> None:
    """Count SOPs, neuron updates and spikes of SOURCE (model file or bundle) and price them per profile.

    A MODEL is quantized for the first chip profile given (the default profile when all are energy-only).
    A bundle is priced with the profile it was built for (its own copy); --profile re-prices it, and the
    output says so.
    """
    from latdeploy.data.source import record_lines
    from latdeploy.flows.energy import energy_of_source

    execution = execution_of(executor, ray_address, chunk_samples, memory_limit)
    subject, table = energy_of_source(
        source, profiles, samples, weight_bits, model_path, data, calibration_data, execution, dt
    )
    if as_json:
        click.echo(json.dumps(versioned(table, schema_versions.ENERGY), indent=2, sort_keys=True))
    else:
        bundle = table.get("bundle_profile")
        if bundle is None:
            where = f"quantized for {subject.profile.name}"
        else:
            where = bundle["note"] if bundle["repriced"] else f"priced with {bundle['note']}"
        click.echo(printable(f"source      {subject.source} ({where})"))
        if "source" in subject.data.record["test"] or calibration_data is not None:
            click.echo(printable("\n".join(record_lines(subject.data.record))))
        click.echo(printable("\n".join(energy_lines(table))))
