"""Train a latency-coded SNN from latdeploy.nn blocks and write a model file + model card.

Encoder, neuron, decoder, loss, architecture and time steps are chosen by flags; the
data are scikit-learn's digits, event streams generated from them
(``--dataset sklearn-digits-dvs``, see latdeploy/data/events.py) or the generated seed-scale
sets (``generated-shapes-32``: 32x32x3 images, ``generated-shapes-dvs-128``: 2x128x128 event
streams; latdeploy/data/shapes.py, shapes_dvs.py). Fixed seed; CPU only (``--threads``, default 2).

Example (a 64-128-10 LIF MLP on the digits; all defaults: the architecture of ``models/digits_mlp.pt``)::

    .venv/bin/python tools/train.py --out my_mlp.pt

The commands of the shipped models are in their model cards (``models/*.md``).
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import latdeploy
from latdeploy.data import DATASETS, DIGITS, EVENTS, SHAPES, SHAPES_DVS, WINE, Split, load_split
from latdeploy.data.shapes import shapes_split
from latdeploy.data.shapes_dvs import shapes_dvs_split
from latdeploy.nn import DECODERS, build_model
from latdeploy.nn.evaluation import evaluate, model_inputs
from latdeploy.nn.fake_quant import FakeQuantizedWeights
from latdeploy.nn.losses import LOSSES, training_loss
from latdeploy.nn.network import is_neuron, vgg11_layers
from latdeploy.nn.neurons import NEURONS
from latdeploy.report.output_paths import check_file_output

ENCODERS = ("latency", "learned_latency", "stc")
GENERATORS = {SHAPES: shapes_split, SHAPES_DVS: shapes_dvs_split}
EVENT_DATASETS = (EVENTS, SHAPES_DVS)
DATA_TEXT = {
    DIGITS: "scikit-learn's 1,797 real 8×8 digits, 80/20 stratified split, seed 0: 1,437 train / 360 test",
    EVENTS: "scikit-learn's 1,797 real 8×8 digits as generated DVS event streams (latdeploy/data/events.py, "
    "seeded), 80/20 stratified split, seed 0: 1,437 train / 360 test",
    WINE: "scikit-learn's 178 wine samples, 13 features scaled to [0, 1] by the training split's range, 3 classes, "
    "80/20 stratified split, seed 0: 142 train / 36 test (latdeploy/data/wine.py)",
    SHAPES: "**generated** 32×32×3 images, ten classes of coloured shapes and textures "
    "(latdeploy/data/shapes.py, seeded; no real data ships): 2,000 train / 500 test",
    SHAPES_DVS: "**generated** 2×128×128 DVS event streams of the ten shape classes seen by a moving camera "
    "(latdeploy/data/shapes_dvs.py, seeded; no real data ships): 400 train / 100 test",
}

ENCODER_TEXT = {
    "latency": "latency (TTFS): pixel x∈[0,1] fires once at step round((1−x)(T−1)); blank pixels never fire",
    "learned_latency": "latency-encoding (LE) module: learnable Linear feature extractor on the analog pixels, "
    "sigmoid intensity, each feature fires once at step round((1−x)·T) (never when that is T), "
    "straight-through estimator through the rounding; runs on the host",
    "stc": "spatio-temporal compression (STC): the raw event bins are summed into T windows of synaptic current "
    "(graded event counts per pixel and polarity); runs on the host",
}
NEURON_TEXT = {
    "lif": "CUBA LIF / IF neuron that may fire on many steps",
    "ttfs": "TTFS single-spike neuron (fires at most once per sample)",
    "multi_threshold": "multi-threshold LIF emitting graded spikes 0..K (number of thresholds crossed)",
}
DECODER_TEXT = {
    "first_spike": "first output spike; ties broken by the higher membrane potential",
    "temporal": "temporal output decoding: output spikes summed over time with weights (T−t)/T that favour "
    "early spikes; ties by membrane at the spikes",
    "mean": "mean over time of the output spikes",
}
LOSS_TEXT = {
    "membrane_ce": "per-step membrane cross-entropy up to the decision step "
    "(`latdeploy.nn.losses.first_spike_membrane_cross_entropy`)",
    "tad": "temporal adaptive decision (TAD) loss: per-step cross-entropy of the output membrane weighted by "
    "Λ[t] from each step's inverse entropy (`latdeploy.nn.losses.tad_loss`)",
    "first_spike_time": "cross-entropy on the negative differentiable first-spike times "
    "(`latdeploy.nn.losses.first_spike_time_loss`)",
    "decoded_ce": "cross-entropy on the decoder's scores (`latdeploy.nn.losses.decoded_cross_entropy`)",
    "first_spike_margin": "membrane hinge: the other output neurons stay a margin below the threshold until the "
    "correct one fires, which must reach it (`latdeploy.nn.losses.first_spike_margin_loss`)",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Return the parsed command line (defaults: the architecture and stage-1 recipe of ``models/digits_mlp.pt``)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--out", type=Path, default=Path("models/digits_mlp.pt"))
    add("--force", action="store_true", help="replace an existing --out file (e.g. retraining a shipped model)")
    add("--dataset", choices=DATASETS, default=DIGITS)
    add("--arch", choices=("mlp", "convnet", "vgg11"), default="mlp")
    add("--width", type=float, default=1.0, help="vgg11: channel width multiplier (1.0: 64..512 channels)")
    add("--stride", type=int, default=1, help="convnet: stride of the first convolution")
    add("--encoder", choices=ENCODERS, default=None, help="[latency; stc for event data]")
    add("--neuron", choices=tuple(NEURONS), default="lif")
    add("--decoder", choices=DECODERS, default="first_spike")
    add("--loss", choices=LOSSES, default="membrane_ce")
    add("--timesteps", type=int, default=8)
    add("--hidden", default="128", help="mlp: hidden layer sizes, comma separated")
    add("--features", type=int, default=64, help="learned_latency: features the LE module sends to the chip")
    add("--channels", default="16,32", help="convnet: conv channels per block (conv 3x3 -> neuron -> pool 2)")
    add(
        "--pool",
        choices=("avgpool", "sumpool", "spikemaxpool"),
        default="avgpool",
        help="convnet: pooling after each block",
    )
    add("--threshold", type=float, default=1.0)
    add("--current-decay", type=float, default=1.0, help="1: no synaptic current memory; < 1: CUBA (SCB)")
    add("--voltage-decay", type=float, default=0.0)
    add("--levels", type=int, default=2, help="multi_threshold: number of thresholds K")
    add("--reset", choices=("zero", "subtract"), default="zero")
    add("--no-bias", action="store_true", help="neurons without a bias")
    add("--surrogate", default="fast_sigmoid")
    add("--stc-max-level", type=float, default=15.0)
    add("--logit-scale", type=float, default=5.0, help="scale of membrane / score logits in the loss")
    add("--weight-gain", type=float, default=1.0, help="multiply the initial weights (init against signal loss)")
    add("--init", type=Path, default=None, help="start from this model file's weights (same architecture flags)")
    add("--epochs", type=int, default=60)
    add("--batch-size", type=int, default=32)
    add("--train-samples", type=int, default=0, help="train on the first N training samples only (0: all)")
    add(
        "--generated-train",
        type=int,
        default=0,
        help="generated shapes sets: draw N training samples from the generator (its first ones are the "
        "registered train split; 0: that split)",
    )
    add("--lr", type=float, default=2e-3)
    add("--seed", type=int, default=0)
    add("--fire-weight", type=float, default=0.0, help="weight of the term that makes the correct output fire")
    add("--margin", type=float, default=0.5, help="first_spike_margin: wrong outputs stay this far below threshold")
    add(
        "--fire-margin", type=float, default=0.0, help="first_spike_margin: the correct output is pushed this far above"
    )
    add("--input-noise", type=float, default=0.0, help="std of Gaussian noise on the analog training pixels (0: none)")
    add("--qat-epochs", type=int, default=20, help="mlp + lif only: final epochs on Loihi's weight grid (0: none)")
    add("--weight-bits", type=int, default=8, help="weight bits of the quantization-aware phase")
    add("--threads", type=int, default=2, help="torch CPU threads (1 on a shared machine)")
    add("--eval-every", type=int, default=0, help="print the test accuracy every N epochs (0: never)")
    add("--export-check", action=argparse.BooleanOptionalAction, default=True, help="try a loihi2-sim export")
    args = parser.parse_args(argv)
    if args.encoder is None:
        args.encoder = "stc" if args.dataset in EVENT_DATASETS else "latency"
    if (args.encoder == "stc") != (args.dataset in EVENT_DATASETS):
        parser.error(f"the stc encoder is for event data (--dataset {'/'.join(EVENT_DATASETS)}) and event data need it")
    if args.arch == "vgg11" and args.dataset != SHAPES:
        parser.error(f"--arch vgg11 takes 32x32x3 images (--dataset {SHAPES})")
    if args.generated_train and args.dataset not in GENERATORS:
        parser.error(f"--generated-train is for the generated sets (--dataset {'/'.join(GENERATORS)})")
    if args.input_noise and args.dataset != DIGITS:
        parser.error("--input-noise is for the analog digits images (--dataset sklearn-digits)")
    if args.loss == "decoded_ce" and args.decoder == "first_spike":
        parser.error("--loss decoded_ce needs an aggregating decoder (--decoder temporal or mean)")
    if args.qat_epochs and (args.arch != "mlp" or args.neuron != "lif" or args.no_bias):
        args.qat_epochs = 0
    return args


def neuron_options(args: argparse.Namespace) -> dict[str, Any]:
    """Return the keyword arguments of the chosen neuron class."""
    options: dict[str, Any] = {
        "threshold": args.threshold,
        "current_decay": args.current_decay,
        "voltage_decay": args.voltage_decay,
        "bias": not args.no_bias,
        "surrogate": args.surrogate,
    }
    if args.neuron in ("lif", "multi_threshold"):
        options["reset"] = args.reset
    if args.neuron == "multi_threshold":
        options["levels"] = args.levels
    return options


def class_count(train: Split) -> int:
    """Return the number of classes of the training labels (10 for digits, 3 for wine)."""
    return int(train.y.max()) + 1


def make_config(args: argparse.Namespace, train: Split) -> dict[str, Any]:
    """Return the architecture config (plain data) that the flags describe."""
    if args.arch == "mlp":
        inputs = int(np.prod(train.x.shape[1:]))
        chip_inputs = args.features if args.encoder == "learned_latency" else inputs
        config: dict[str, Any] = {
            "arch": "mlp",
            "sizes": [chip_inputs, *(int(n) for n in args.hidden.split(",")), class_count(train)],
            "timesteps": args.timesteps,
        }
        if args.encoder != "latency":
            config.update(encoder=args.encoder, input_size=inputs)
        options = neuron_options(args)
        if args.neuron == "lif":
            if options.pop("reset") != "zero":
                config["neuron_options"] = {"reset": args.reset}
            return {**config, **options}
        return {**config, "neuron": args.neuron, "neuron_options": options}
    if args.arch == "vgg11":
        return {
            "arch": "vgg11",
            "width": args.width,
            "timesteps": args.timesteps,
            "encoder": args.encoder,
            "neuron": {"kind": args.neuron, **neuron_options(args)},
        }
    input_shape = {DIGITS: [1, 8, 8], SHAPES: [3, 32, 32]}.get(args.dataset) or list(train.x.shape[2:])
    layers: list[dict[str, Any]] = []
    for index, channels in enumerate(args.channels.split(",")):
        conv = {"type": "conv", "channels": int(channels), "kernel": 3, "padding": 1}
        if index == 0 and args.stride != 1:
            conv["stride"] = args.stride
        layers += [conv, {"type": "neuron"}]
        layers.append({"type": args.pool, "kernel": 2})
    layers += [{"type": "flatten"}, {"type": "linear", "features": 10}, {"type": "neuron"}]
    config = {
        "arch": "convnet",
        "input_shape": input_shape,
        "timesteps": args.timesteps,
        "encoder": args.encoder,
        "neuron": {"kind": args.neuron, **neuron_options(args)},
        "layers": layers,
    }
    if args.encoder == "stc":
        config["stc_max_level"] = args.stc_max_level
    return config


def output_threshold(model: torch.nn.Module) -> float:
    """Return the firing threshold of the model's output neurons."""
    neurons = [module for module in model.modules() if is_neuron(module)]
    return float(neurons[-1].threshold)


def compute_loss(
    args: argparse.Namespace, spikes: torch.Tensor, v_pre: torch.Tensor, labels: torch.Tensor, threshold: float
) -> torch.Tensor:
    """Return the training loss chosen by ``--loss`` for output ``spikes`` / ``v_pre`` ``[T, B, C]``."""
    return training_loss(
        args.loss,
        spikes,
        v_pre,
        labels,
        threshold,
        logit_scale=args.logit_scale,
        fire_weight=args.fire_weight,
        margin=args.margin,
        decoder=args.decoder,
        fire_margin=args.fire_margin,
    )


def start_from(model: torch.nn.Module, path: Path) -> str:
    """Load the weights of the model file ``path`` into ``model`` (same config) and return the
    command that trained that file (its ``train_command``).

    Raises:
        SystemExit: if the file's architecture config differs from ``model``'s.
    """
    initial, metadata = latdeploy.load(path)
    if initial.config != model.config:
        raise SystemExit(f"--init {path}: its config {initial.config} differs from the flags' {model.config}")
    model.load_state_dict(initial.state_dict())
    return str(metadata.get("train_command", path))


def progress(phase: str, epoch: int, epochs: int, done: int, total: int, loss: float) -> None:
    """Draw a one-line progress bar on stderr."""
    width = 30
    filled = width * done // total
    sys.stderr.write(
        f"\r{phase} epoch {epoch + 1:3d}/{epochs} [{'#' * filled}{'.' * (width - filled)}] "
        f"{100 * done // total:3d}%  loss {loss:.4f}"
    )
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def noisy(x: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    """Return analog inputs ``x`` plus Gaussian noise of ``std``, clipped to [0, 1] (``x`` itself when ``std`` is 0)."""
    if not std:
        return x
    return (x + std * torch.randn(x.shape, generator=generator)).clamp(0.0, 1.0)


def train_epochs(
    model: torch.nn.Module,
    train: Split,
    args: argparse.Namespace,
    epochs: int,
    lr: float,
    phase: str,
    generator: torch.Generator,
    test: Split | None = None,
) -> None:
    """Train ``model`` in place for ``epochs`` with Adam and a cosine schedule, printing progress (and the
    accuracy on ``test`` every ``--eval-every`` epochs when given)."""
    threshold, batch_size = output_threshold(model), args.batch_size
    x_train, y_train = model_inputs(train.x, model.config), torch.from_numpy(train.y)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        total = 0.0
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            layer_spikes, v_pre = model(noisy(x_train[batch], args.input_noise, generator))
            loss = compute_loss(args, layer_spikes[-1], v_pre, y_train[batch], threshold)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
            progress(
                phase, epoch, epochs, min(start + batch_size, len(order)), len(order), total / (start + len(batch))
            )
        scheduler.step()
        if epoch % 10 == 9 or epoch == epochs - 1:
            result = evaluate(model, train.x, train.y, args.decoder)
            print(
                f"{phase} epoch {epoch + 1:3d}  loss {total / len(order):.4f}  train acc {result.accuracy:.4f}  "
                f"mean step {result.mean_decision_step:.2f}"
            )
        if test is not None and args.eval_every and (epoch + 1) % args.eval_every == 0:
            result = evaluate(model, test.x, test.y, args.decoder)
            print(
                f"{phase} epoch {epoch + 1:3d}  test acc {result.accuracy:.4f}  decided {result.decided}/{len(test.y)}  "
                f"mean step {result.mean_decision_step:.2f}",
                flush=True,
            )


def decision_latency(mean_step: float, decided: int, samples: int, timesteps: int) -> float | None:
    """Return the mean decision step over the ``decided`` samples only (None when none is decided), from
    ``mean_step`` over all ``samples`` in which each undecided sample counts as step ``timesteps``."""
    if not decided:
        return None
    return (mean_step * samples - timesteps * (samples - decided)) / decided


def export_status(path: Path, samples: int = 20) -> str:
    """Try ``latdeploy export PATH --target loihi2-sim --samples N`` and return one line saying how it went."""
    with tempfile.TemporaryDirectory() as directory:
        command = [sys.executable, "-m", "latdeploy.cli", "export", str(path), "--target", "loihi2-sim"]
        command += ["--samples", str(samples), "-o", str(Path(directory) / "bundle")]
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    today = datetime.date.today().isoformat()
    if result.returncode == 0:
        parity = next((line.strip() for line in result.stdout.splitlines() if line.startswith("parity")), "")
        return f"yes ({today}, {samples} test samples): {parity}"
    reason = (result.stderr.strip().splitlines() or ["no message"])[-1]
    return f"not yet ({today}): `latdeploy export --target loihi2-sim` exits {result.returncode}: {reason}"


def main(argv: list[str] | None = None) -> int:
    """Train, evaluate, save the model file and its card; returns the exit code."""
    args = parse_args(argv)
    check_file_output(args.out, "model", (), args.force, flag="--out")  # before training, not after
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    test = load_split(args.dataset, "test")
    if args.generated_train:
        train = GENERATORS[args.dataset]("train", args.generated_train)
    else:
        train = load_split(args.dataset, "train")
    if args.train_samples:
        train = Split(train.x[: args.train_samples], train.y[: args.train_samples])
    config = make_config(args, train)
    model = build_model(config)
    init_command = start_from(model, args.init) if args.init else None
    if args.weight_gain != 1.0:
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if name.endswith("weight") and parameter.dim() > 1:
                    parameter.mul_(args.weight_gain)
    started, cpu_started = time.perf_counter(), time.process_time()
    generator = torch.Generator().manual_seed(args.seed)
    if args.epochs:
        train_epochs(model, train, args, args.epochs, args.lr, "float", generator, test)
    float_accuracy = evaluate(model, test.x, test.y, args.decoder).accuracy
    if args.qat_epochs:
        with FakeQuantizedWeights(model, bits=args.weight_bits):
            train_epochs(model, train, args, args.qat_epochs, args.lr / 4, "qat", generator)
    train_seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    result = evaluate(model, test.x, test.y, args.decoder)
    test_accuracy, test_step, test_decided = result.accuracy, result.mean_decision_step, result.decided
    print(f"test accuracy {test_accuracy:.4f}, mean decision step {test_step:.2f}, {train_seconds:.0f} s")

    command = ".venv/bin/python tools/train.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    metadata = {
        "input_shape": list(model_inputs(test.x[:1], config).shape[1:]),
        "timesteps": args.timesteps,
        "encoder": args.encoder,
        "decoder": args.decoder,
        "neuron": args.neuron,
        "loss": args.loss,
        "dataset": args.dataset,
        "classes": class_count(train),
        "float_test_accuracy": test_accuracy,
        "float_test_accuracy_before_qat": float_accuracy,
        "qat_epochs": args.qat_epochs,
        "mean_decision_step": test_step,
        "test_samples_decided_by_spike": test_decided,
        "test_samples": int(len(test.y)),
        "decision_latency": decision_latency(test_step, test_decided, len(test.y), args.timesteps),
        "fire_weight": args.fire_weight,
        **({"margin": args.margin, "fire_margin": args.fire_margin} if args.loss == "first_spike_margin" else {}),
        "train_command": command.strip(),
        **({"init_train_command": init_command} if init_command else {}),
        "seed": args.seed,
        "train_seconds": round(train_seconds, 1),
        "train_cpu_seconds": round(cpu_seconds, 1),
    }
    latdeploy.save(model, args.out, metadata, force=args.force)
    status = export_status(args.out) if args.export_check else "not checked (--no-export-check)"
    write_model_card(args.out.with_suffix(".md"), model, metadata, args, status)
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}; loihi2-sim export: {status}")
    return 0


def describe_layers(model: torch.nn.Module) -> str:
    """Return a one-line description of the model's layers (input size -> ... -> classes)."""
    config = model.config
    if config["arch"] == "mlp":
        return " → ".join(str(n) for n in config["sizes"]) + ": `Linear` (no bias) → neuron per layer"
    layers = config.get("layers") or vgg11_layers(float(config.get("width", 1.0)), batch_norm=True)
    names = []
    for spec in layers:
        extra = {k: v for k, v in spec.items() if k != "type"}
        names.append(spec["type"] + (f"({', '.join(f'{k}={v}' for k, v in extra.items())})" if extra else ""))
    return (
        f"input {config.get('input_shape', [3, 32, 32])} → "
        + " → ".join(names)
        + " (stateless layers per step, no biases)"
    )


def write_model_card(path: Path, model: torch.nn.Module, metadata: dict, args: argparse.Namespace, status: str) -> None:
    """Write the model card (markdown) beside the checkpoint."""
    data = f"`{metadata['dataset']}`: {DATA_TEXT[args.dataset]}"
    options = ", ".join(f"{k} {v}" for k, v in neuron_options(args).items())
    qat = (
        f"; then {args.qat_epochs} quantization-aware epochs (lr {args.lr / 4}) with weights and biases "
        f"fake-quantized onto Loihi's {args.weight_bits}-bit weight grid (`latdeploy.nn.fake_quant`)"
        if args.qat_epochs
        else ""
    )
    size_kb = path.with_suffix(".pt").stat().st_size / 1024
    subset = f", on the first {args.train_samples} training samples" if args.train_samples else ""
    if args.generated_train:
        subset += (
            f", on {args.generated_train} generated training samples (the generator's first "
            f"{args.generated_train}; the registered train split is its first ones)"
        )
    noise = f", Gaussian noise (std {args.input_noise}) on the analog training pixels" if args.input_noise else ""
    loss_scale = (
        f"margin {args.margin}, fire margin {args.fire_margin}"
        if args.loss == "first_spike_margin"
        else f"logit scale {args.logit_scale}"
    )
    reproduce = f"`{metadata['train_command']}`"
    if metadata.get("init_train_command"):
        reproduce = f"`{metadata['init_train_command']}`, then {reproduce} (`--init` names the first file)"
    decided, total = metadata["test_samples_decided_by_spike"], metadata["test_samples"]
    latency = "–" if metadata["decision_latency"] is None else f"{metadata['decision_latency']:.2f}"
    path.write_text(
        f"""# {path.stem}

Method: {args.encoder} encoder + {args.neuron} neurons + {args.decoder} decoder, trained with the {args.loss} loss.

| | |
|---|---|
| architecture | {describe_layers(model)} |
| encoder | {ENCODER_TEXT[args.encoder]} |
| neurons | {NEURON_TEXT[args.neuron]}; {options} |
| decoder | {DECODER_TEXT[args.decoder]} |
| time steps T | {args.timesteps} |
| dataset | {data} |
| loss | {LOSS_TEXT[args.loss]}; fire weight {args.fire_weight}; {loss_scale} |
| training | Adam lr {args.lr}, cosine schedule, {args.epochs} epochs, batch {args.batch_size}, seed {args.seed}{subset}{noise}{qat}; {metadata["train_seconds"]} s wall clock, {metadata["train_cpu_seconds"]} s CPU time ({args.threads} thread(s), on a machine shared with other jobs) |
| float test accuracy before the quantization-aware phase | {100 * metadata["float_test_accuracy_before_qat"]:.2f} % |
| float test accuracy | {100 * metadata["float_test_accuracy"]:.2f} % |
| decision latency | {latency} steps: mean 0-based step of the first output spike over the {decided} of {total} test samples decided by one (float model; the definition `latdeploy verify` reports) |
| undecided | {total - decided} of {total} test samples end without an output spike (counted separately, not in the latency; the decoder decides them by the highest final membrane potential) |
| model file | {size_kb:.0f} KiB, config + state_dict + metadata, loads with `torch.load(weights_only=True)` |
| exports to loihi2-sim | {status} |

Reproduce: {reproduce} (from the repository root, in `.venv`).
"""
    )


if __name__ == "__main__":
    sys.exit(main())
