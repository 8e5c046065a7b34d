"""``latdeploy inspect``: layers, shapes, neuron kinds, parameters and host/chip split of a model file."""

from __future__ import annotations

import json
from pathlib import Path

import click

from latdeploy.cli.app import cli
from latdeploy.cli.format import inspect_lines
from latdeploy.untrusted.text import printable


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option(
    "--dt",
    type=click.FloatRange(min=0.0, min_open=True),
    default=None,
    help="Time step in seconds of a .nir file that states none (Sinabs: 1, snnTorch: 1e-4, Norse: its dt).",
)
def inspect(model: Path, as_json: bool, dt: float | None) -> None:
    """Describe MODEL: a checkpoint, bundle, .onnx, .nir or .net file."""
    from latdeploy.flows.inspect import inspect_file

    report = inspect_file(model, dt=dt)
    if as_json:
        click.echo(json.dumps(report, sort_keys=True, default=str))
        return
    click.echo(printable("\n".join(inspect_lines(report))))
