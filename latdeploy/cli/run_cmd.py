"""``latdeploy run``: run a model file on given input spikes with one backend."""

from __future__ import annotations

import json
from pathlib import Path

import click

from latdeploy.cli.app import cli
from latdeploy.cli.format import run_line
from latdeploy.cli.options import backend_option, dt_option, force_option, memory_limit_option, profile_option
from latdeploy.report import schema_versions
from latdeploy.report.schema_versions import versioned
from latdeploy.untrusted.text import printable


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Input .npy in --layout: (neurons, steps) or (samples, neurons, steps); (samples, steps, *shape); "
    "lava-dl's (W, H, C, steps) or (C, H, W, steps). Spikes 0/1, or currents 0..255 where the input drives "
    "a neuron (netx input layer).",
)
@backend_option(simulators=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="Write the output layer's spikes.")
@click.option(
    "--all-layers", type=click.Path(path_type=Path), default=None, help="Write every layer's spikes (.npz by name)."
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary instead of text.")
@profile_option(help_text="Profile for checkpoints.")
@force_option()
@memory_limit_option()
@dt_option()
@click.option(
    "--layout",
    type=click.Choice(["auto", "NT", "BT", "WHCT", "CHWT"]),
    default="auto",
    show_default=True,
    help="Input layout: NT ring buffer, BT (samples, steps, *shape), WHCT/CHWT lava-dl one sample; auto "
    "detects it and refuses an ambiguous shape.",
)
def run(
    model: Path,
    input_path: Path,
    backend: str,
    output: Path | None,
    all_layers: Path | None,
    as_json: bool,
    profile_name: str,
    force: bool,
    memory_limit: int | None,
    dt: float | None,
    layout: str,
) -> None:
    """Run MODEL (checkpoint, bundle, .onnx, .net, .nir) on the spikes in --input.

    Outputs use the input's layout and algorithmic time, so every backend's
    arrays compare directly; sim_seconds times the simulation alone.
    """
    from latdeploy.flows.run import run_input_file

    result = run_input_file(
        model, input_path, backend, profile_name, output, all_layers, force, memory_limit, dt, layout
    )
    summary = result.summary()
    if as_json:
        click.echo(json.dumps(versioned(summary, schema_versions.RUN), sort_keys=True))
        return
    click.echo(printable(run_line(summary)))
