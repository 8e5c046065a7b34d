"""``latdeploy map``: place a model's layers on a profile's cores (no data, no simulation)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from latdeploy.cli.app import cli
from latdeploy.cli.format import mapping_lines
from latdeploy.cli.options import force_option, profile_option, trust_pickle_option, weight_bits_option
from latdeploy.untrusted.text import printable


@cli.command("map")
@click.argument("model", type=click.Path(path_type=Path))
@profile_option()
@weight_bits_option()
@trust_pickle_option()
@click.option("-o", "--out", type=click.Path(path_type=Path), default=None, help="Write the mapping JSON here.")
@click.option("--json", "as_json", is_flag=True, help="Print the mapping JSON instead of the table.")
@force_option()
def map_command(
    model: Path,
    profile_name: str,
    weight_bits: int | None,
    trust_pickle: bool,
    out: Path | None,
    as_json: bool,
    force: bool,
) -> None:
    """Map MODEL's layers onto the cores of a hardware profile and print the core count per layer."""
    from latdeploy.flows.map import map_model

    mapping = map_model(model, profile_name, weight_bits=weight_bits, trust_pickle=trust_pickle, out=out, force=force)
    if as_json:
        click.echo(json.dumps(mapping, sort_keys=True))
        return
    click.echo(printable("\n".join(mapping_lines(mapping))))
