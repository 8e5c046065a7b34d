"""``latdeploy finetune MODEL --profile P -o OUT.pt``: quantization-aware fine-tuning for a profile."""

from __future__ import annotations

import json
from pathlib import Path

import click

from latdeploy.cli.app import cli


def _line(label: str, report: dict) -> str:
    return (
        f"{label:<7} float vs fixed: {report['mismatches']} mismatches in {report['spike_slots']} spike slots "
        f"({100 * report['agreement']:.3f} % agree); accuracy float {100 * report['accuracy_float']:.2f} %, "
        f"fixed {100 * report['accuracy_fixed']:.2f} %"
    )


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--profile", "profile_name", default="loihi2", show_default=True, help="Profile name or YAML path.")
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Fine-tuned model file to write.")
@click.option("--weight-bits", type=click.IntRange(1, 8), default=None, help="Weight bits [the profile's].")
@click.option("--epochs", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=3e-5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def finetune(
    model: Path, profile_name: str, out: Path, weight_bits: int | None, epochs: int, lr: float, seed: int
) -> None:
    """Fine-tune MODEL through its fixed-point network for PROFILE and write a new model file.

    Prints float-vs-fixed spike agreement and accuracies (test split, fixed-point
    simulator) before and after; the report is also kept in the new file's metadata.
    """
    import torch

    import latdeploy
    from latdeploy.finetune import agreement_report
    from latdeploy.finetune import finetune as run_finetune
    from latdeploy.hw.profile import load_profile

    torch.set_num_threads(2)
    network, metadata = latdeploy.load(model)
    profile = load_profile(profile_name)
    before = agreement_report(network, metadata, profile, weight_bits)
    click.echo(_line("before", before))
    run_finetune(network, metadata, profile, weight_bits, epochs=epochs, lr=lr, seed=seed)
    after = agreement_report(network, metadata, profile, weight_bits)
    click.echo(_line("after", after))
    saved = {key: value for key, value in metadata.items() if key not in ("config", "format_version")}
    saved["float_test_accuracy"] = after["accuracy_float"]
    saved["finetune"] = json.loads(
        json.dumps(
            {
                "source_model": str(model),
                "profile": profile.name,
                "weight_bits": after["weight_bits"],
                "epochs": epochs,
                "lr": lr,
                "seed": seed,
                "before": before,
                "after": after,
            }
        )
    )
    latdeploy.save(network, out, saved)
    click.echo(f"wrote {out}")
