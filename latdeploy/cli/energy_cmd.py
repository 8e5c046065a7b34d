"""``latdeploy energy``: SOPs, neuron updates, spikes and energy per inference, profiles side by side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from latdeploy.cli.app import cli


def _joules(value: float) -> str:
    return f"{value * 1e6:.4f} uJ"


def table_lines(table: dict[str, Any]) -> list[str]:
    """The human tables of :func:`latdeploy.energy.counting.energy_table`'s result."""
    counts, reports = table["counts"], table["profiles"]
    lines = [
        f"per inference, mean over {counts['samples']} test samples x {counts['timesteps']} steps "
        "(counts from the fixed-point run, equal to Lava's)",
        f"{'layer':<10}{'in events':>11}{'SOPs':>10}{'SOPs dense':>12}{'updates':>10}{'active':>10}{'spikes':>9}"
        f"{'ANN MACs':>10}",
    ]
    for layer in counts["per_layer"]:
        lines.append(
            f"{layer['name']:<10}{layer['input_events']:>11.1f}{layer['sops']:>10.1f}{layer['sops_dense']:>12.1f}"
            f"{layer['neuron_updates']:>10.0f}{layer['neuron_updates_active']:>10.1f}{layer['spikes']:>9.1f}"
            f"{layer['macs_ann']:>10}"
        )
    width = max(14, *(len(r["profile"]) + 2 for r in reports))
    lines.append("")
    lines.append(f"{'energy':<22}" + "".join(f"{r['profile']:>{width}}" for r in reports))
    for layer_index, layer in enumerate(counts["per_layer"]):
        lines.append(
            f"  {layer['name']:<20}"
            + "".join(f"{_joules(r['per_layer'][layer_index]['energy_j']):>{width}}" for r in reports)
        )
    lines.append(f"{'total / inference':<22}" + "".join(f"{_joules(r['energy_j']):>{width}}" for r in reports))
    lines.append(
        f"{'ANN MAC energy':<22}"
        + "".join(f"{r['ann_equivalent']['mac_j'] * 1e12:>{width - 3}.2f} pJ" for r in reports)
    )
    ann = reports[0]["ann_equivalent"]
    lines += [
        "",
        f"ANN equivalent: {ann['macs']} MACs = {_joules(ann['energy_45nm_j'])} at 45 nm (fp32 MAC 4.6 pJ); "
        f"SNN at 45 nm: {reports[0]['sops']:.1f} SOPs x 0.9 pJ = {_joules(ann['snn_sops_45nm_j'])} "
        "(Horowitz ISSCC 2014)",
        f"SOP convention: {reports[0]['sop_convention']}",
    ]
    for report in reports:
        if report["missing_energy_fields"]:
            lines.append(
                f"note: profile {report['profile']} gives no {report['missing_energy_fields']} (counted as 0 J)"
            )
    return lines


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--profile", "profiles", multiple=True, help="Profile name or YAML path; repeat to compare [loihi2].")
@click.option("--samples", default="100", show_default=True, help="Test samples to count over (N or 'all').")
@click.option("--weight-bits", type=click.IntRange(1, 8), default=None, help="Quantize a MODEL to these weight bits.")
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=None, help="Model file of a bundle.")
@click.option("--json", "as_json", is_flag=True, help="Print {counts, profiles: [energy.json ...]} as JSON.")
def energy(
    source: Path,
    profiles: tuple[str, ...],
    samples: str,
    weight_bits: int | None,
    model_path: Path | None,
    as_json: bool,
) -> None:
    """Count SOPs, neuron updates and spikes of SOURCE (model file or bundle) and price them per profile.

    A MODEL is quantized for the first chip profile given (loihi2 when all are energy-only).
    """
    from latdeploy.cli.verify_cmd import _samples
    from latdeploy.data import load_split
    from latdeploy.energy.counting import energy_table
    from latdeploy.errors import LatdeployError
    from latdeploy.export import encode
    from latdeploy.hw.profile import load_profile
    from latdeploy.sim.fixed import simulate_fixed
    from latdeploy.verify.flow import load_subject

    names = list(profiles) or ["loihi2"]
    loaded = [load_profile(name) for name in names]
    chips = [profile for profile in loaded if getattr(profile, "kind", "chip") == "chip"]
    subject = load_subject(source, chips[0].name if chips else "loihi2", weight_bits, model_path)
    test = load_split(subject.metadata["dataset"], "test")
    count = _samples(samples) or len(test.y)
    if count > len(test.y):
        raise LatdeployError(f"--samples {count} is outside 1..{len(test.y)} (test samples of the dataset)")
    spikes = encode(subject.model, test.x[:count])
    table = energy_table(subject.int_graph, spikes, simulate_fixed(subject.int_graph, spikes), loaded)
    if as_json:
        click.echo(json.dumps(table, indent=2, sort_keys=True))
    else:
        click.echo(f"source      {subject.source} (quantized for {subject.profile.name})")
        click.echo("\n".join(table_lines(table)))
