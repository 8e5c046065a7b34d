"""``latdeploy export``: model file -> verified bundle, with a short printed summary."""

from __future__ import annotations

import json
import shlex
import sys
import warnings
from pathlib import Path

import click

from latdeploy.cli.app import cli
from latdeploy.cli.progress import stage_progress
from latdeploy.cli.verify_cmd import divergence_lines
from latdeploy.errors import EXIT_PARITY_FAILURE


def _percent(value: float) -> str:
    return f"{100 * value:.2f} %"


def _steps(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def print_summary(result) -> None:
    """Print the short human summary of an export."""
    parity, energy = result.parity, result.energy
    fixed_lava, float_fixed = parity["fixed_vs_lava"], parity["float_vs_fixed"]
    accuracy, agreement, latency = parity["accuracy"], parity["decision_agreement"], parity["decision_latency"]
    status = "OK" if result.parity_ok else "FAILED"
    lines = [
        f"bundle      {result.out}/",
        f"samples     {parity['samples']} test samples x {parity['timesteps']} steps "
        f"({parity['hardware_steps']} Lava steps in one run)",
        f"parity      fixed vs Lava: {fixed_lava['mismatches']} mismatches in {fixed_lava['compared']} spike slots "
        f"[{status}]",
        f"            float vs fixed: {float_fixed['mismatches']} mismatches in {float_fixed['compared']} spike slots "
        f"({_percent(1 - float_fixed['mismatches'] / max(float_fixed['compared'], 1))} agree)",
        f"accuracy    float {_percent(accuracy['float'])}   fixed {_percent(accuracy['fixed'])}   "
        f"lava {_percent(accuracy['lava'])}",
        f"decisions   float/fixed agree {_percent(agreement['float_vs_fixed'])}, "
        f"fixed/Lava agree {_percent(agreement['fixed_vs_lava'])}; mean decision step "
        f"float {_steps(latency['float']['mean_step'])}, lava {_steps(latency['lava']['mean_step'])} "
        f"(undecided float {latency['float']['undecided']}, lava {latency['lava']['undecided']})",
        *divergence_lines(float_fixed["first_divergence"]),
        f"energy      {energy['energy_j'] * 1e6:.4f} uJ/inference on {energy['profile']} "
        f"({energy['sops']:.0f} SOPs, {energy['spikes']:.0f} spikes); "
        f"ANN equivalent {energy['ann_equivalent']['macs']} MACs = {energy['ann_equivalent']['energy_j'] * 1e6:.4f} uJ",
        f"time        Lava {result.lava_seconds:.1f} s, fixed-point simulator {result.fixed_seconds * 1e3:.1f} ms",
    ]
    click.echo("\n".join(lines))


def json_summary(result) -> dict:
    """The machine-readable summary of an export (``--json``): the bundle's reports and the timings."""
    return {
        "bundle": str(result.out),
        "parity_ok": result.parity_ok,
        "parity": result.parity,
        "energy": result.energy,
        "warnings": list(result.warnings),
        "lava_seconds": result.lava_seconds,
        "fixed_seconds": result.fixed_seconds,
    }


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--target", type=click.Choice(["loihi2-sim"]), default="loihi2-sim", show_default=True)
@click.option(
    "-o", "--out", type=click.Path(path_type=Path), default=None, help="Bundle directory [<model stem>.latdeploy]."
)
@click.option("--samples", type=click.IntRange(min=1), default=100, show_default=True, help="Test samples to verify.")
@click.option("--profile", "profile_name", default="loihi2", show_default=True, help="Profile name or YAML path.")
@click.option(
    "--format",
    "formats",
    type=click.Choice(["onnx", "netx", "nir"]),
    multiple=True,
    default=("onnx",),
    show_default=True,
    help="Interchange files beside the ONNX graphs (repeatable): netx -> graph.net, nir -> graph.nir.",
)
@click.option(
    "--trust-pickle",
    is_flag=True,
    help="Unpickle MODEL in full (full-module pickles); this runs any code in the file. Only for files you trust.",
)
@click.option(
    "--weight-bits",
    type=click.IntRange(1, 8),
    default=None,
    help="Weight bits (1..8) instead of the profile's, for bit-width studies.",
)
@click.option(
    "--allow-overflow",
    is_flag=True,
    help="Export even if the 24-bit u/v overflow on calibration data (a warning instead of an error).",
)
@click.option(
    "--lava-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Stop the Lava run after SECONDS (compilation included); exit 2, nothing written. [no limit]",
)
@click.option("--json", "as_json", is_flag=True, help="Print {bundle, parity_ok, parity, energy, ...} as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def export(
    formats: tuple[str, ...],
    model: Path,
    target: str,
    out: Path | None,
    samples: int,
    profile_name: str,
    trust_pickle: bool,
    weight_bits: int | None,
    allow_overflow: bool,
    lava_timeout: float | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Export MODEL to TARGET, verify it spike for spike and estimate its energy."""
    from latdeploy.export import EXPORT_STAGES
    from latdeploy.export import export as run_export
    from latdeploy.nn.checkpoint import TrustedPickleWarning

    if trust_pickle:
        click.echo(f"warning: --trust-pickle: {model} is unpickled in full and may run code it contains", err=True)
        warnings.simplefilter("ignore", TrustedPickleWarning)

    with stage_progress(EXPORT_STAGES, quiet or as_json, "export") as advance:
        result = run_export(
            model,
            target=target,
            out=out,
            samples=samples,
            profile_name=profile_name,
            command_line=shlex.join(["latdeploy", *sys.argv[1:]]),
            trust_pickle=trust_pickle,
            weight_bits=weight_bits,
            allow_overflow=allow_overflow,
            formats=formats,
            lava_timeout=lava_timeout,
            progress=advance,
        )
    if as_json:
        click.echo(json.dumps(json_summary(result), indent=2, sort_keys=True))
    else:
        print_summary(result)
    for line in result.warnings:
        click.echo(line, err=True)
    if not result.parity_ok:
        click.echo("parity failure: the fixed-point simulator and Lava disagree (see parity.json)", err=True)
        sys.exit(EXIT_PARITY_FAILURE)
