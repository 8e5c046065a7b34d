"""``latdeploy verify``: float vs fixed point vs Lava on a model file or bundle, with a summary."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from latdeploy.cli.app import cli
from latdeploy.cli.progress import stage_progress
from latdeploy.errors import EXIT_PARITY_FAILURE


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f} %"


def _steps(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def divergence_lines(divergence: dict[str, Any] | None) -> list[str]:
    """Describe the first float-vs-fixed divergence (with its cause) in a few lines."""
    if divergence is None:
        return ["first divergence  none: float and fixed point agree on every slot"]
    fired = "float fired, fixed did not" if divergence.get("float_fired") else "fixed fired, float did not"
    lines = [
        f"first divergence  sample {divergence['sample']}, layer {divergence['layer']}, neuron "
        f"{divergence['neuron']}, step {divergence['step']}" + (f": {fired}" if "float_fired" in divergence else "")
    ]
    cause = divergence.get("cause")
    if cause is not None:
        factors = ", ".join(cause["factors"]) or "none found"
        lines.append(f"            likely cause: {factors} ({cause['method']})")
    membrane = divergence.get("membrane")
    if membrane and "fixed" in membrane:
        lines.append(
            f"            membrane (float units) steps {membrane['steps'][0]}..{membrane['steps'][-1]}: float "
            + " ".join(f"{x:.3f}" for x in membrane["float"])
            + " | fixed "
            + " ".join(f"{x:.3f}" for x in membrane["fixed"])
            + f" | threshold float {membrane['threshold_float']:.3f}, fixed "
            + f"{membrane.get('threshold_fixed_comparison', '>')} {membrane['threshold_fixed']:.3f}"
        )
    return lines


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The human summary of a parity report (``latdeploy verify``'s output)."""
    fixed_lava, float_fixed = report["fixed_vs_lava"], report["float_vs_fixed"]
    status = "OK" if fixed_lava["mismatches"] == 0 and not any(report["output_state_vs_lava"].values()) else "FAILED"
    accuracy, on_lava = report["accuracy"], report["accuracy_on_lava_samples"]
    agreement, latency = report["decision_agreement"], report["decision_latency"]
    lines = [
        f"samples     {report['samples']} test samples x {report['timesteps']} steps in float and fixed point; "
        f"first {report['lava_samples']} on Lava ({report['hardware_steps']} Lava steps)",
        f"parity      fixed vs Lava: {fixed_lava['mismatches']} mismatches in {fixed_lava['compared']} spike slots "
        f"[{status}]",
        f"            float vs fixed: {float_fixed['mismatches']} mismatches in {float_fixed['compared']} spike slots "
        f"({_percent(1 - float_fixed['mismatches'] / max(float_fixed['compared'], 1))} agree)",
    ]
    for layer in report["layers"]:
        lines.append(
            f"  {layer['name']:<9} ({layer['kind']}, {layer['neurons']} neurons, lag {layer['lag']}): float/fixed "
            f"{_percent(layer['agreement_float_vs_fixed'])}, fixed/Lava {_percent(layer['agreement_fixed_vs_lava'])}; "
            f"spikes float {layer['spikes_float']}, fixed {layer['spikes_fixed']}; overflows {layer['overflow_fixed']}"
        )
        shift = layer.get("first_spike_shift_float_vs_fixed")
        if shift is not None:
            histogram = " ".join(f"{k}:{v}" for k, v in shift["histogram"].items()) or "-"
            lines.append(
                f"            first-spike shift fixed - float (steps:count) {histogram}; "
                f"only float {shift['only_reference']}, only fixed {shift['only_candidate']}"
            )
    lines += divergence_lines(float_fixed["first_divergence"])
    lines += [
        f"accuracy    float {_percent(accuracy['float'])}   fixed {_percent(accuracy['fixed'])}   "
        f"(on the Lava samples: float {_percent(on_lava['float'])}, fixed {_percent(on_lava['fixed'])}, "
        f"lava {_percent(on_lava['lava'])})",
        f"decisions   float/fixed agree {_percent(agreement['float_vs_fixed'])}, "
        f"fixed/Lava agree {_percent(agreement['fixed_vs_lava'])}",
    ]
    for name in ("float", "fixed", "lava"):
        run = latency[name]
        lines.append(
            f"latency     {name:<5} mean {_steps(run['mean_step'])} steps (p50 {_steps(run['percentiles']['p50'])}, "
            f"p90 {_steps(run['percentiles']['p90'])}) = hardware step {_steps(run['hardware']['mean_step'])}; "
            f"undecided {run['undecided']}"
        )
    for entry in report.get("robustness", []):
        lines.append(
            f"robustness  {entry['corruption']:<20} float {_percent(entry['accuracy']['float'])}   fixed "
            f"{_percent(entry['accuracy']['fixed'])}   decisions agree "
            f"{_percent(entry['decision_agreement_float_vs_fixed'])}; spike mismatches float/fixed "
            f"{entry['float_vs_fixed']['mismatches']}, fixed/Lava {entry['fixed_vs_lava']['mismatches']}"
        )
    return lines


def _samples(value: str) -> int | None:
    if value == "all":
        return None
    try:
        number = int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither a number nor 'all'") from None
    if number < 1:
        raise click.BadParameter(f"{number} is not >= 1")
    return number


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--samples", default="100", show_default=True, help="Test samples in float/fixed point (N or 'all').")
@click.option("--lava-samples", type=click.IntRange(min=1), default=20, show_default=True, help="Samples run on Lava.")
@click.option("--profile", "profile_name", default=None, help="Profile name or YAML path [bundle's, else loihi2].")
@click.option("--weight-bits", type=click.IntRange(1, 8), default=None, help="Quantize a MODEL to these weight bits.")
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=None, help="Model file of a bundle.")
@click.option("--corrupt", default="", help="Robustness reruns, e.g. gaussian_noise:0.1,salt_pepper:0.05.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the corruptions.")
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None, help="Also write an HTML report.")
@click.option("--json", "as_json", is_flag=True, help="Print parity.json's content instead of the summary.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def verify(
    source: Path,
    samples: str,
    lava_samples: int,
    profile_name: str | None,
    weight_bits: int | None,
    model_path: Path | None,
    corrupt: str,
    seed: int,
    html_path: Path | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Verify SOURCE (a model file or an exported bundle) spike for spike: float vs fixed point vs Lava.

    Exit status 3 when the fixed-point simulator and Lava disagree.
    """
    from latdeploy.energy.counting import energy_report
    from latdeploy.verify.corrupt import parse_corruptions
    from latdeploy.verify.flow import load_subject
    from latdeploy.verify.flow import verify as run_verify

    count = _samples(samples)
    corruptions = parse_corruptions(corrupt)
    subject = load_subject(source, profile_name, weight_bits, model_path)
    with stage_progress(4 + len(corruptions), quiet or as_json, "verify") as advance:
        result = run_verify(subject, count, lava_samples, corruptions, seed, progress=advance)
    report = result.report
    if html_path is not None:
        from latdeploy.report.html import render_report

        energy = energy_report(subject.int_graph, result.input_spikes, result.fixed_trace, subject.profile)
        html_path.write_text(render_report(report, [energy], result.rasters, title=f"latdeploy verify {source}"))
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True))
    else:
        click.echo(f"source      {subject.source} (profile {subject.profile.name})")
        click.echo("\n".join(summary_lines(report)))
    corrupted_mismatches = sum(entry["fixed_vs_lava"]["mismatches"] for entry in report["robustness"])
    if report["fixed_vs_lava"]["mismatches"] or any(report["output_state_vs_lava"].values()) or corrupted_mismatches:
        click.echo("parity failure: the fixed-point simulator and Lava disagree", err=True)
        sys.exit(EXIT_PARITY_FAILURE)
