"""``latdeploy verify``: float vs fixed point vs the hardware on a model file or bundle, with a summary."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from latdeploy.cli.app import cli
from latdeploy.cli.format import executor_line, gate_failure, parity_failure, verify_lines
from latdeploy.cli.options import (
    backend_option,
    data_options,
    dt_option,
    execution_of,
    executor_options,
    force_option,
    gate_options,
    hardware_samples_option,
    profile_option,
    samples_option,
    seed_option,
    weight_bits_option,
)
from latdeploy.cli.progress import detail_of, stage_progress
from latdeploy.errors import EXIT_GATE_FAILURE, EXIT_PARITY_FAILURE
from latdeploy.report.bundle import atomic_file
from latdeploy.report.output_paths import check_file_output
from latdeploy.untrusted.text import printable
from latdeploy.verify.corrupt import parse_corruptions
from latdeploy.verify.gates import Gates, gates_ok


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@samples_option()
@hardware_samples_option(20)
@backend_option()
@profile_option(None, "Profile name or YAML path [bundle's, else the default profile].")
@weight_bits_option("Quantize a MODEL to these weight bits.")
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=None, help="Model file of a bundle.")
@click.option("--corrupt", default="", help="Robustness reruns, e.g. gaussian_noise:0.1,salt_pepper:0.05.")
@seed_option("Seed of the corruptions.")
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None, help="Also write an HTML report.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print parity.json's content (and 'executor') instead of the summary."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@gate_options()
@force_option()
@data_options()
@dt_option()
@executor_options()
def verify(
    source: Path,
    samples: int | None,
    hardware_samples: int,
    backend: str | None,
    profile_name: str | None,
    weight_bits: int | None,
    model_path: Path | None,
    corrupt: str,
    seed: int,
    html_path: Path | None,
    as_json: bool,
    quiet: bool,
    force: bool,
    data: str | None,
    calibration_data: str | None,
    max_accuracy_drop: float,
    min_agreement: float,
    executor: str,
    ray_address: str | None,
    chunk_samples: int | None,
    memory_limit: int | None,
    dt: float | None,
) -> None:
    """Verify SOURCE (a model file or an exported bundle) spike for spike: float vs fixed point vs hardware.

    Exit status 3 when the fixed-point simulator and the hardware disagree, 4 when they agree but a
    gate fails (fixed-point accuracy or decisions too far from the float model's; docs/verdicts.md).
    A bundle is priced with its own profile copy; --profile re-prices it, and the output says so.
    """
    from latdeploy.data.source import record_lines
    from latdeploy.flows.verify import VERIFY_STAGES, verify_source

    if html_path is not None:
        inputs = [source, *([model_path] if model_path else []), *([Path(profile_name)] if profile_name else [])]
        check_file_output(html_path, "html", inputs, force, flag="--html")
    corruptions = parse_corruptions(corrupt)
    gates = Gates(max_accuracy_drop, min_agreement)
    with stage_progress(VERIFY_STAGES + len(corruptions), quiet or as_json, "verify") as advance:
        result = verify_source(
            source,
            samples,
            hardware_samples,
            profile_name,
            weight_bits,
            model_path,
            corruptions,
            seed,
            backend,
            advance,
            data,
            calibration_data,
            gates,
            execution_of(executor, ray_address, chunk_samples, memory_limit, detail_of(advance)),
            dt,
        )
    report = result.report
    if report["hardware_samples"] < hardware_samples:
        clamped = report["hardware_samples"]
        click.echo(f"note: --hardware-samples {hardware_samples} clamped to {clamped} (the verified samples)", err=True)
    if html_path is not None:
        with atomic_file(html_path) as temporary:
            temporary.write_text(result.html(title=f"latdeploy verify {source}"))
    if as_json:
        click.echo(json.dumps({**report, "executor": result.extra["executor"]}, indent=2, sort_keys=True))
    else:
        profile = result.subject.profile_note or result.subject.profile.name
        click.echo(printable(f"source      {result.subject.source} (profile {profile})"))
        if "source" in result.subject.data.record["test"] or calibration_data is not None:
            click.echo(printable("\n".join(record_lines(result.subject.data.record))))
        click.echo(printable("\n".join(verify_lines(report))))
        click.echo(executor_line(result.extra["executor"]))
    from latdeploy.verify.parity import parity_ok

    if not parity_ok(report):
        click.echo(parity_failure(report), err=True)
        sys.exit(EXIT_PARITY_FAILURE)
    if not gates_ok(report):
        click.echo(gate_failure(report), err=True)
        sys.exit(EXIT_GATE_FAILURE)
