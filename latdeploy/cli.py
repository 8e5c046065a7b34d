"""The ``latdeploy`` command line: thin click commands over library functions.

Exit status: 0 success; 1 internal error; 2 user error (bad file, profile, option);
3 parity failure (the fixed-point simulator and Lava disagree).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from latdeploy.errors import EXIT_INTERNAL_ERROR, EXIT_PARITY_FAILURE, EXIT_USER_ERROR, LatdeployError


def _percent(value: float) -> str:
    return f"{100 * value:.2f} %"


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
        f"float {latency['float']['mean_step']:.2f}, lava {latency['lava']['mean_step']:.2f}",
        f"energy      {energy['energy_j'] * 1e6:.4f} uJ/inference on {energy['profile']} "
        f"({energy['sops']:.0f} SOPs, {energy['spikes']:.0f} spikes); "
        f"ANN equivalent {energy['ann_equivalent']['macs']} MACs = {energy['ann_equivalent']['energy_j'] * 1e6:.4f} uJ",
        f"time        Lava {result.lava_seconds:.1f} s, fixed-point simulator {result.fixed_seconds * 1e3:.1f} ms",
    ]
    click.echo("\n".join(lines))


@click.group()
@click.version_option(package_name="latdeploy")
def cli() -> None:
    """Deploy latency-coded spiking neural networks to neuromorphic hardware."""


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--target", type=click.Choice(["loihi2-sim"]), default="loihi2-sim", show_default=True)
@click.option(
    "-o", "--out", type=click.Path(path_type=Path), default=None, help="Bundle directory [<model stem>.latdeploy]."
)
@click.option("--samples", type=click.IntRange(min=1), default=100, show_default=True, help="Test samples to verify.")
@click.option("--profile", "profile_name", default="loihi2", show_default=True, help="Profile name or YAML path.")
def export(model: Path, target: str, out: Path | None, samples: int, profile_name: str) -> None:
    """Export MODEL to TARGET, verify it spike for spike and estimate its energy."""
    from latdeploy.export import export as run_export

    result = run_export(
        model,
        target=target,
        out=out,
        samples=samples,
        profile_name=profile_name,
        command_line=shlex.join(["latdeploy", *sys.argv[1:]]),
    )
    print_summary(result)
    if not result.parity_ok:
        click.echo("parity failure: the fixed-point simulator and Lava disagree (see parity.json)", err=True)
        sys.exit(EXIT_PARITY_FAILURE)


def main() -> None:
    """Console entry point: run the CLI, mapping errors to exit codes."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_USER_ERROR)
    except click.ClickException as error:
        click.echo(f"error: {error.format_message()} (see 'latdeploy --help')", err=True)
        sys.exit(EXIT_USER_ERROR)
    except LatdeployError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except SystemExit:
        raise
    except Exception as error:  # a bug: say so, keep it short, exit 1
        click.echo(f"internal error: {type(error).__name__}: {error}", err=True)
        sys.exit(EXIT_INTERNAL_ERROR)


if __name__ == "__main__":
    main()
