"""``latdeploy map``: place a model's layers on a profile's cores (no data, no simulation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from latdeploy.cli.app import cli


def layer_lines(mapping: dict[str, Any]) -> list[str]:
    """The human table of a mapping: per layer neurons, cores, the binding limit, the order, peak use."""
    lines = [
        f"{'layer':<10}{'neurons':>9}{'cores':>7}  {'bounded by':<32}{'fan-in':>8}{'fan-out':>9}{'memory B':>10}  order"
    ]
    for layer in mapping["layers"]:
        cores = [core for core in mapping["cores"] if core["layer"] == layer["name"]]
        lines.append(
            f"{layer['name']:<10}{layer['neurons']:>9}{layer['cores']:>7}  {layer['bounded_by']:<32}"
            f"{max(core['fan_in'] for core in cores):>8}{max(core['fan_out'] for core in cores):>9}"
            f"{max(core['synaptic_memory_bytes'] for core in cores):>10}  {layer['order']}"
        )
    limits = mapping["limits"]
    lines.append(
        f"total: {mapping['total_cores']} of {mapping['cores_per_chip']} cores on {mapping['profile']} "
        f"(per core: {limits['neurons_per_core']} neurons, {limits['fan_in_per_core']} input axons, "
        f"{limits['fan_out_per_core']} output axon slots, {limits['synaptic_memory_bytes_per_core']} B synaptic memory)"
    )
    return lines


@cli.command("map")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--profile", "profile_name", default="loihi2", show_default=True, help="Profile name or YAML path.")
@click.option(
    "--weight-bits", type=click.IntRange(1, 8), default=None, help="Weight bits (1..8) instead of the profile's."
)
@click.option(
    "--trust-pickle",
    is_flag=True,
    help="Unpickle MODEL in full (full-module pickles); this runs any code in the file. Only for files you trust.",
)
@click.option("-o", "--out", type=click.Path(path_type=Path), default=None, help="Write the mapping JSON here.")
@click.option("--json", "as_json", is_flag=True, help="Print the mapping JSON instead of the table.")
def map_command(
    model: Path, profile_name: str, weight_bits: int | None, trust_pickle: bool, out: Path | None, as_json: bool
) -> None:
    """Map MODEL's layers onto the cores of a hardware profile and print the core count per layer."""
    from latdeploy.hw.map_model import map_model
    from latdeploy.report.bundle import atomic_file, dump_json

    mapping = map_model(model, profile_name, weight_bits=weight_bits, trust_pickle=trust_pickle)
    if out is not None:
        with atomic_file(out) as temporary:
            temporary.write_text(dump_json(mapping))
    if as_json:
        click.echo(json.dumps(mapping, sort_keys=True))
        return
    click.echo("\n".join(layer_lines(mapping)))
