"""``latdeploy inspect``: layers, shapes, neuron kinds, parameters and host/chip split of a model file."""

from __future__ import annotations

import json
from pathlib import Path

import click

from latdeploy.cli.app import cli


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def inspect(model: Path, as_json: bool) -> None:
    """Describe MODEL: a checkpoint, bundle, .onnx, .nir or .net file."""
    from latdeploy.inspect import inspect_file

    report = inspect_file(model)
    if as_json:
        click.echo(json.dumps(report, sort_keys=True, default=str))
        return
    from latdeploy.ir.describe import format_description

    click.echo(f"{report['file']} ({report['format']})")
    for label, description in report["graphs"].items():
        click.echo(f"\n[{label}] " + format_description(description))
        split = description["host_chip"]
        click.echo(
            f"host: {', '.join(split['host_operations'])}  |  chip: {len(split['chip'])} nodes "
            f"({', '.join(split['chip'])})  |  spikes in: {', '.join(split['to_chip']) or '-'}, "
            f"out: {', '.join(split['to_host']) or '-'}"
        )
