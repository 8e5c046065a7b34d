"""Train a latency-coded MLP on scikit-learn's digits and write a model + model card.

Example (the command that produced ``models/digits_mlp.pt``)::

    .venv/bin/python tools/train.py --out models/digits_mlp.pt

Runs on the CPU in about a minute on 2 cores; fixed seed; 80/20 stratified split.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

import latdeploy
from latdeploy.data import DIGITS, Split, load_split
from latdeploy.nn import build_model, first_spike_decision
from latdeploy.nn.fake_quant import FakeQuantizedWeights
from latdeploy.nn.losses import first_spike_membrane_cross_entropy


def evaluate(model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> tuple[float, float, int]:
    """Return (accuracy, mean decision step, samples decided by a spike) of the first-spike decoder."""
    with torch.no_grad():
        layer_spikes, v_pre = model(torch.from_numpy(x))
    decision = first_spike_decision(layer_spikes[-1].permute(1, 0, 2).numpy(), v_pre.permute(1, 0, 2).numpy())
    return float((decision.label == y).mean()), float(decision.step.mean()), int(decision.decided.sum())


def train_epochs(
    model: torch.nn.Module,
    train: Split,
    args: argparse.Namespace,
    epochs: int,
    lr: float,
    phase: str,
    generator: torch.Generator,
) -> None:
    """Train ``model`` in place for ``epochs`` with Adam and a cosine schedule, printing progress."""
    threshold, batch_size, fire_weight = float(model.config["threshold"]), args.batch_size, args.fire_weight
    x_train, y_train = torch.from_numpy(train.x), torch.from_numpy(train.y)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        total = 0.0
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            layer_spikes, v_pre = model(x_train[batch])
            loss = first_spike_membrane_cross_entropy(
                layer_spikes[-1], v_pre, y_train[batch], threshold=threshold, fire_weight=fire_weight
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        scheduler.step()
        if epoch % 10 == 9 or epoch == epochs - 1:
            model.eval()
            accuracy, step, _ = evaluate(model, train.x, train.y)
            print(
                f"{phase} epoch {epoch + 1:3d}  loss {total / len(order):.4f}  train acc {accuracy:.4f}  mean step {step:.2f}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("models/digits_mlp.pt"))
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--timesteps", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--fire-weight", type=float, default=0.0, help="weight of the term that makes the correct output neuron fire"
    )
    parser.add_argument("--qat-epochs", type=int, default=20, help="final epochs on Loihi's weight grid (0: none)")
    parser.add_argument("--weight-bits", type=int, default=8, help="weight bits of the quantization-aware phase")
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    train, test = load_split(DIGITS, "train"), load_split(DIGITS, "test")
    config = {
        "arch": "mlp",
        "sizes": [train.x.shape[1], args.hidden, 10],
        "timesteps": args.timesteps,
        "threshold": 1.0,
        "bias": True,
        "current_decay": 1.0,
        "voltage_decay": 0.0,
        "surrogate": "fast_sigmoid",
    }
    model = build_model(config)
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(args.seed)
    train_epochs(model, train, args, args.epochs, args.lr, "float", generator)
    float_accuracy, _, _ = evaluate(model, test.x, test.y)
    if args.qat_epochs:
        with FakeQuantizedWeights(model, bits=args.weight_bits):
            train_epochs(model, train, args, args.qat_epochs, args.lr / 4, "qat", generator)
    train_seconds = time.perf_counter() - started
    model.eval()
    test_accuracy, test_step, test_decided = evaluate(model, test.x, test.y)
    print(f"test accuracy {test_accuracy:.4f}, mean decision step {test_step:.2f}, {train_seconds:.0f} s")

    command = ".venv/bin/python tools/train.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    metadata = {
        "input_shape": [train.x.shape[1]],
        "timesteps": args.timesteps,
        "encoder": "latency",
        "decoder": "first_spike",
        "dataset": DIGITS,
        "classes": 10,
        "float_test_accuracy": test_accuracy,
        "float_test_accuracy_before_qat": float_accuracy,
        "qat_epochs": args.qat_epochs,
        "mean_decision_step": test_step,
        "test_samples_decided_by_spike": test_decided,
        "test_samples": int(len(test.y)),
        "fire_weight": args.fire_weight,
        "train_command": command.strip(),
        "seed": args.seed,
        "train_seconds": round(train_seconds, 1),
    }
    latdeploy.save(model, args.out, metadata)
    write_model_card(args.out.with_suffix(".md"), config, metadata, args)
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


def write_model_card(path: Path, config: dict, metadata: dict, args: argparse.Namespace) -> None:
    """Write the model card (markdown) beside the checkpoint."""
    sizes = " → ".join(str(n) for n in config["sizes"])
    path.write_text(
        f"""# {path.stem}

A latency-coded (time-to-first-spike input) spiking MLP for scikit-learn's handwritten digits.

| | |
|---|---|
| architecture | {sizes}: `Linear` (no bias) → integrate-and-fire neuron (reset to zero, per-neuron bias, threshold {config["threshold"]}) per layer |
| encoder | latency: pixel x∈[0,1] fires once at step round((1−x)(T−1)); blank pixels never fire |
| hidden neurons | may fire on several steps |
| decoder | first output spike; ties broken by the higher membrane potential |
| time steps T | {config["timesteps"]} |
| dataset | `{metadata["dataset"]}` (1,797 real 8×8 images), 80/20 stratified split, seed 0: 1,437 train / 360 test |
| loss | per-step membrane cross-entropy up to the decision step (`latdeploy.nn.losses.first_spike_membrane_cross_entropy`), surrogate `{config["surrogate"]}` |
| training | Adam lr {args.lr}, cosine schedule, {args.epochs} epochs, batch {args.batch_size}, seed {args.seed}; then {args.qat_epochs} quantization-aware epochs (lr {args.lr / 4}) with weights and biases fake-quantized onto Loihi's {args.weight_bits}-bit weight grid (`latdeploy.nn.fake_quant`); {metadata["train_seconds"]} s on 2 CPU cores |
| float test accuracy before the quantization-aware phase | {100 * metadata["float_test_accuracy_before_qat"]:.2f} % |
| float test accuracy | {100 * metadata["float_test_accuracy"]:.2f} % |
| mean decision step | {metadata["mean_decision_step"]:.2f} (0-based step of the first output spike, float model, test set; an undecided sample counts as step T) |
| decided by an output spike | {metadata["test_samples_decided_by_spike"]} of {metadata["test_samples"]} test samples; the others by the highest final membrane potential (fire weight {metadata["fire_weight"]}) |

Reproduce: `{metadata["train_command"]}` (from the repository root, in `.venv`).
"""
    )


if __name__ == "__main__":
    sys.exit(main())
