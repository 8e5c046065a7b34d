"""``latdeploy sweep``: accuracy, parity and energy per weight bit width, one table and a Pareto plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from latdeploy.cli.app import cli
from latdeploy.cli.progress import stage_progress


def _bits(value: str) -> list[int]:
    try:
        bits = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers, e.g. 8,6,4,2") from None
    if not bits or any(not 1 <= b <= 8 for b in bits):
        raise click.BadParameter(f"{value!r}: give bit widths in 1..8, e.g. 8,6,4,2")
    return bits


def table_lines(result: dict[str, Any]) -> list[str]:
    """The human table of a sweep (one row per weight bit width, Pareto settings starred)."""
    lines = [
        f"{result['model']} on {result['profile']}: {result['samples']} samples in float and fixed point, "
        f"first {result['lava_samples']} on Lava",
        f"{'bits':>5}{'float':>9}{'fixed':>9}{'lava':>9}{'spikes =':>10}{'decisions =':>13}{'fix/Lava':>10}"
        f"{'SOPs':>9}{'uJ/inf':>9}{'latency':>9}  first divergence",
    ]
    for s in result["settings"]:
        divergence = s["first_divergence"]
        where = "-" if divergence is None else f"{divergence['layer']}: {', '.join(divergence['cause']) or '?'}"
        star = "*" if s["weight_bits"] in result["pareto"] else " "
        latency = "n/a" if s["mean_decision_step"] is None else f"{s['mean_decision_step']:.2f}"
        lines.append(
            f"{s['weight_bits']:>4}{star}{100 * s['accuracy']['float']:>8.2f}%{100 * s['accuracy']['fixed']:>8.2f}%"
            f"{100 * s['accuracy']['lava_on_its_samples']:>8.2f}%{100 * s['spike_agreement_float_vs_fixed']:>9.2f}%"
            f"{100 * s['decision_agreement_float_vs_fixed']:>12.2f}%{s['fixed_vs_lava_mismatches']:>10}"
            f"{s['sops']:>9.0f}{s['energy_j'] * 1e6:>9.4f}{latency:>9}  {where}"
        )
    lines.append("* on the Pareto front of energy per inference vs fixed-point accuracy")
    return lines


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--profile", "profile_name", default="loihi2", show_default=True, help="Chip profile name or YAML path.")
@click.option("--weight-bits", "weight_bits", default="8,6,4,2", show_default=True, help="Bit widths to compare.")
@click.option("--samples", default="100", show_default=True, help="Test samples in float/fixed point (N or 'all').")
@click.option("--lava-samples", type=click.IntRange(min=1), default=5, show_default=True, help="Samples run on Lava.")
@click.option(
    "-o", "--out", type=click.Path(path_type=Path), default=None, help="Directory for sweep.json + pareto.svg."
)
@click.option("--json", "as_json", is_flag=True, help="Print sweep.json's content instead of the table.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def sweep(
    model: Path,
    profile_name: str,
    weight_bits: str,
    samples: str,
    lava_samples: int,
    out: Path | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Quantize MODEL at each weight bit width; compare accuracy, parity and energy (with a Pareto plot)."""
    from latdeploy.cli.verify_cmd import _samples
    from latdeploy.report.bundle import dump_json, write_bundle
    from latdeploy.report.html import pareto_plot
    from latdeploy.verify.sweep import sweep as run_sweep

    bits = _bits(weight_bits)
    count = _samples(samples)
    with stage_progress(len(bits), quiet or as_json, "sweep") as advance:
        result = run_sweep(model, profile_name, bits, count, lava_samples, progress=advance)
    out = Path(out) if out is not None else Path(f"{Path(model).stem}.sweep")
    points = [
        {"label": f"{s['weight_bits']} bit", "energy_j": s["energy_j"], "accuracy": s["accuracy"]["fixed"]}
        for s in result["settings"]
    ]
    plot = pareto_plot(points, [f"{b} bit" for b in result["pareto"]], f"{Path(model).name} on {profile_name}")
    write_bundle(
        out,
        {"sweep.json": lambda p: p.write_text(dump_json(result)), "pareto.svg": lambda p: p.write_text(plot)},
    )
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        click.echo("\n".join(table_lines(result)))
        click.echo(f"written     {out}/sweep.json, {out}/pareto.svg")
