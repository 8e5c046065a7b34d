"""``latdeploy finetune MODEL --profile P -o OUT.pt``: quantization-aware fine-tuning for a profile."""

from __future__ import annotations

from pathlib import Path

import click

from latdeploy.cli.app import cli
from latdeploy.cli.format import agreement_line
from latdeploy.cli.options import (
    FiniteFloatRange,
    data_options,
    force_option,
    profile_option,
    seed_option,
    weight_bits_option,
)
from latdeploy.cli.progress import stage_progress

TORCH_THREADS = 2
"""Threads torch trains with (more only contend on the small models fine-tuned here)."""


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@profile_option()
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Fine-tuned model file to write.")
@weight_bits_option("Weight bits [the profile's].")
@click.option("--epochs", type=click.IntRange(min=1), default=20, show_default=True)
@force_option()
@click.option("--lr", type=FiniteFloatRange(min=0, min_open=True), default=3e-5, show_default=True)
@seed_option()
@click.option("--quiet", is_flag=True, help="No per-epoch progress bar.")
@data_options()
def finetune(
    model: Path,
    profile_name: str,
    out: Path,
    weight_bits: int | None,
    epochs: int,
    lr: float,
    seed: int,
    force: bool,
    quiet: bool,
    data: str | None,
    calibration_data: str | None,
) -> None:
    """Fine-tune MODEL through its fixed-point network for PROFILE and write a new model file.

    Prints float-vs-fixed spike agreement and accuracies (test split, fixed-point
    simulator) before and after, and on a terminal a per-epoch progress bar; the report is also
    kept in the new file's metadata.
    """
    import torch

    from latdeploy.data.source import record_lines
    from latdeploy.flows.finetune import finetune_file
    from latdeploy.untrusted.text import printable

    torch.set_num_threads(TORCH_THREADS)
    with stage_progress(epochs, quiet, "finetune") as advance:
        record = finetune_file(
            model,
            profile_name,
            out,
            weight_bits,
            epochs=epochs,
            lr=lr,
            seed=seed,
            on_report=lambda stage, report: click.echo(agreement_line(stage, report)),
            force=force,
            data=data,
            calibration_data=calibration_data,
            progress=advance,
        )
    if "data" in record:
        click.echo(printable("\n".join(record_lines(record["data"]))))
    click.echo(f"wrote {out}")
