"""Quantization study of the shipped digits models: float vs fixed point, before and after fine-tuning.

For each model and weight bit width, on the whole test split (360 samples), with the library
functions ``latdeploy export`` and ``latdeploy finetune`` use (no Lava needed: the fixed-point
simulator equals Lava bit for bit):

* ``ptq``: post-training quantization of the shipped model
  (:func:`latdeploy.finetune.agreement_report`): spike slots where float and fixed agree, float
  and fixed accuracy;
* ``finetuned``: :func:`latdeploy.finetune.finetune` (as ``latdeploy finetune``), the result saved
  to a temporary model file, loaded back and measured the same way.

``drop`` is the original float accuracy minus the fixed accuracy, in points (issue 5's done-when:
8 bits, ``ptq`` >= 99 % agreement and drop <= 0.5; ``finetuned`` >= 99.9 % and drop <= 0).

Usage: ``.venv/bin/python tools/quant_study.py [--models a,b] [--bits 8,4] [--epochs 20] [--json OUT]``
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import latdeploy  # noqa: E402
from latdeploy.flows.finetune import agreement_report, finetune  # noqa: E402
from latdeploy.hw.profile import load_profile  # noqa: E402

MODELS = ("digits_mlp", "digits_le_tad_mlp", "digits_mtlif_mlp", "digits_ttfs_convnet")


def study(name: str, bits: int, epochs: int, lr: float, profile_name: str) -> list[dict[str, Any]]:
    """Return the ``ptq`` and ``finetuned`` rows of model ``models/<name>.pt`` at ``bits`` weight bits."""
    profile = load_profile(profile_name)
    model, metadata = latdeploy.load(ROOT / "models" / f"{name}.pt")
    started = time.perf_counter()
    before = agreement_report(model, metadata, profile, bits)
    rows = [_row(name, bits, "ptq", before, before["accuracy_float"], time.perf_counter() - started)]
    started = time.perf_counter()
    tuned = finetune(copy.deepcopy(model), metadata, profile, bits, epochs=epochs, lr=lr)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}_w{bits}.pt"
        saved = {key: value for key, value in metadata.items() if key not in ("config", "format_version")}
        latdeploy.save(tuned, path, saved)
        reloaded, reloaded_metadata = latdeploy.load(path)
    after = agreement_report(reloaded, reloaded_metadata, profile, bits)
    rows.append(_row(name, bits, "finetuned", after, before["accuracy_float"], time.perf_counter() - started))
    return rows


def _row(name: str, bits: int, stage: str, report: dict[str, Any], original: float, seconds: float) -> dict[str, Any]:
    return {
        "model": name,
        "bits": bits,
        "stage": stage,
        "spike_slots": report["spike_slots"],
        "mismatches": report["mismatches"],
        "agreement_pct": 100.0 * report["agreement"],
        "accuracy_float_pct": 100.0 * report["accuracy_float"],
        "accuracy_fixed_pct": 100.0 * report["accuracy_fixed"],
        "drop_vs_original_float_points": 100.0 * (original - report["accuracy_fixed"]),
        "seconds": seconds,
    }


def table(rows: list[dict[str, Any]]) -> str:
    """Return ``rows`` as a Markdown table."""
    lines = [
        "| model | bits | stage | mismatches / spike slots | agreement | float acc | fixed acc | drop (pts) | s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['bits']} | {row['stage']} | {row['mismatches']} / {row['spike_slots']} | "
            f"{row['agreement_pct']:.3f} % | {row['accuracy_float_pct']:.2f} % | {row['accuracy_fixed_pct']:.2f} % | "
            f"{row['drop_vs_original_float_points']:+.2f} | {row['seconds']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the study and print the table; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--bits", default="8,4")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--profile", default="loihi2")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows: list[dict[str, Any]] = []
    for name in args.models.split(","):
        for bits in (int(b) for b in args.bits.split(",")):
            rows += study(name, bits, args.epochs, args.lr, args.profile)
            print(table(rows[-2:]).splitlines()[-2], file=sys.stderr, flush=True)
            print(table(rows[-2:]).splitlines()[-1], file=sys.stderr, flush=True)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
