"""``latdeploy run``: run a model file on given input spikes with one backend."""

from __future__ import annotations

import json
from pathlib import Path

import click

from latdeploy.cli.app import cli


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Input .npy: (neurons, steps) or (samples, neurons, steps); spikes 0/1, or currents 0..255 where "
    "the input drives a neuron (netx input layer).",
)
@click.option("--backend", type=click.Choice(["fixed", "lava", "float"]), default="fixed", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="Write the output layer's spikes.")
@click.option(
    "--all-layers", type=click.Path(path_type=Path), default=None, help="Write every layer's spikes (.npz by name)."
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary instead of text.")
@click.option("--profile", "profile_name", default="loihi2", show_default=True, help="Profile for checkpoints.")
def run(
    model: Path,
    input_path: Path,
    backend: str,
    output: Path | None,
    all_layers: Path | None,
    as_json: bool,
    profile_name: str,
) -> None:
    """Run MODEL (checkpoint, bundle, .onnx, .net, .nir) on the spikes in --input.

    Outputs use the input's layout and algorithmic time, so every backend's
    arrays compare directly; sim_seconds times the simulation alone.
    """
    from latdeploy.run import load_input, run_file, write_outputs

    spikes = load_input(input_path)
    result = run_file(model, spikes, backend, profile_name, source=str(input_path))
    write_outputs(result, output, all_layers)
    summary = result.summary()
    if as_json:
        click.echo(json.dumps(summary, sort_keys=True))
        return
    click.echo(
        f"{summary['backend']}: {summary['samples']} sample(s) x {summary['steps']} steps, "
        f"{summary['output_spikes']} output spikes in {summary['output_layer']!r} "
        f"({summary['output_neurons']} neurons); simulation {summary['sim_seconds'] * 1e3:.1f} ms"
    )
