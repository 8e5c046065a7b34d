"""The verify flow: a model file or bundle -> float, fixed-point and Lava runs -> parity report.

The fixed-point simulator runs every sample, Lava the first ``lava_samples``; the
report is :func:`latdeploy.verify.parity.parity_report`'s, plus robustness reruns
under input corruptions and the spike rasters that the HTML report draws.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from latdeploy.data import load_split
from latdeploy.errors import LatdeployError, ModelFormatError
from latdeploy.hw.profile import Profile, load_profile
from latdeploy.ir import Graph
from latdeploy.ir.onnx_io import from_onnx
from latdeploy.nn.checkpoint import load
from latdeploy.nn.decoders import first_spike_decision
from latdeploy.sim.trace import Trace
from latdeploy.verify.corrupt import Corruption, corrupt
from latdeploy.verify.parity import compare, head, parity_report

Progress = Callable[[str], None]


@dataclass
class Subject:
    """What is verified: the model (for its encoder and dataset), both graphs and the profile."""

    model: Any
    metadata: dict[str, Any]
    float_graph: Graph
    int_graph: Graph
    profile: Profile
    source: str


@dataclass
class VerifyResult:
    """``report`` is parity.json's content; ``rasters`` the spikes of one sample for the HTML plots."""

    report: dict[str, Any]
    rasters: dict[str, Any]
    input_spikes: np.ndarray
    fixed_trace: Trace
    lava_trace: Trace
    extra: dict[str, Any] = field(default_factory=dict)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _bundle_model_path(bundle: Path, manifest: dict[str, Any], model: Path | None) -> Path:
    if model is not None:
        return model
    named = Path(manifest.get("model", {}).get("path", ""))
    for candidate in (named, bundle.parent / named, Path.cwd() / named.name):
        if candidate.is_file():
            if _sha256(candidate) != manifest["model"].get("sha256"):
                raise ModelFormatError(
                    f"{bundle}/manifest.json: model {candidate} does not match the recorded sha256; pass --model"
                )
            return candidate
    raise ModelFormatError(f"{bundle}/manifest.json: model file {str(named)!r} not found; pass --model PATH")


def load_subject(
    path: Path, profile_name: str | None = None, weight_bits: int | None = None, model_path: Path | None = None
) -> Subject:
    """Load a model file (and quantize it) or a bundle directory (its ``graph.onnx``/``graph.int.onnx``).

    Raises:
        ModelFormatError: for a malformed bundle, or a model file that is missing or altered.
        LatdeployError: for a bad profile or weight bit width.
    """
    path = Path(path)
    if path.is_dir():
        manifest_path = path / "manifest.json"
        if not manifest_path.is_file():
            raise ModelFormatError(f"{path}: not a latdeploy bundle (no manifest.json)")
        manifest = json.loads(manifest_path.read_text())
        model, metadata = load(_bundle_model_path(path, manifest, model_path))
        graphs = {}
        for name in ("graph.onnx", "graph.int.onnx"):
            if not (path / name).is_file():
                raise ModelFormatError(f"{path}: bundle has no {name}")
            graphs[name] = from_onnx(onnx.load(path / name))
        profile = load_profile(profile_name or manifest.get("profile", {}).get("name", "loihi2"))
        return Subject(model, metadata, graphs["graph.onnx"], graphs["graph.int.onnx"], profile, str(path))
    from latdeploy.export import CALIBRATION_SAMPLES, encode
    from latdeploy.frontend.torch_module import graph_from_module
    from latdeploy.passes.quantize import quantize

    model, metadata = load(path)
    profile = load_profile(profile_name or "loihi2")
    float_graph = graph_from_module(model, metadata)
    train = load_split(metadata["dataset"], "train")
    int_graph, _ = quantize(float_graph, profile, encode(model, train.x[:CALIBRATION_SAMPLES]), weight_bits=weight_bits)
    return Subject(model, metadata, float_graph, int_graph, profile, str(path))


def raster_sample(report: dict[str, Any]) -> int:
    """The sample the HTML rasters show: the first float-vs-fixed divergence's, else 0."""
    divergence = report["float_vs_fixed"]["first_divergence"]
    return int(divergence["sample"]) if divergence else 0


def spike_rasters(
    graph: Graph, spikes: np.ndarray, float_trace: Trace, hardware: Trace, sample: int, hardware_source: str
) -> dict[str, Any]:
    """Return one sample's spike events per layer, float and hardware, for :mod:`latdeploy.report.html`.

    ``hardware`` must hold ``sample``; ``hardware_source`` names it (``"lava"`` or ``"fixed"``).
    """

    def events(array: np.ndarray) -> list[list[int]]:
        return [[int(t), int(n)] for t, n in np.argwhere(array[sample] > 0)]

    layers = [{"name": graph.input.name, "neurons": int(spikes.shape[2]), "float": events(spikes), "hardware": None}]
    for name, layer in float_trace.layers.items():
        layers.append(
            {
                "name": name,
                "neurons": int(layer.spikes.shape[2]),
                "float": events(layer.spikes),
                "hardware": events(hardware.layers[name].spikes),
            }
        )
    return {"sample": sample, "timesteps": graph.timesteps, "hardware_source": hardware_source, "layers": layers}


def _robustness(
    subject: Subject, x: np.ndarray, labels: np.ndarray, corruption: Corruption, seed: int, lava_samples: int
) -> dict[str, Any]:
    from latdeploy.backends.lava import run_lava
    from latdeploy.export import encode
    from latdeploy.sim.fixed import simulate_fixed
    from latdeploy.sim.float_sim import simulate_float

    spikes = encode(subject.model, corrupt(x, corruption, seed))
    traces = {
        "float": simulate_float(subject.float_graph, spikes),
        "fixed": simulate_fixed(subject.int_graph, spikes),
        "lava": run_lava(subject.int_graph, spikes[:lava_samples]).trace,
    }
    decisions = {name: first_spike_decision(t.output().spikes, t.output().v_pre) for name, t in traces.items()}
    float_fixed = compare(traces["float"], traces["fixed"])
    fixed_lava = compare(head(traces["fixed"], lava_samples), traces["lava"])
    return {
        "corruption": corruption.label,
        "seed": seed,
        "accuracy": {name: float((d.label == labels[: d.label.size]).mean()) for name, d in decisions.items()},
        "decision_agreement_float_vs_fixed": float((decisions["float"].label == decisions["fixed"].label).mean()),
        "float_vs_fixed": {key: float_fixed[key] for key in ("compared", "mismatches")},
        "fixed_vs_lava": {key: fixed_lava[key] for key in ("compared", "mismatches")},
    }


def verify(
    subject: Subject,
    samples: int | None = 100,
    lava_samples: int = 20,
    corruptions: list[Corruption] = (),
    seed: int = 0,
    progress: Progress | None = None,
) -> VerifyResult:
    """Run float and fixed point on ``samples`` test samples (None: all), Lava on the first ``lava_samples``.

    Returns:
        The :class:`VerifyResult`; ``report["robustness"]`` holds one entry per corruption
        (float, fixed-point and Lava runs of the corrupted inputs, seeded; Lava on the first
        ``lava_samples``).

    Raises:
        LatdeployError: for sample counts outside the test set.
        BackendError: if Lava is missing or its run fails.
    """
    from latdeploy.backends.lava import run_lava
    from latdeploy.export import encode
    from latdeploy.sim.fixed import simulate_fixed
    from latdeploy.sim.float_sim import simulate_float

    step = progress or (lambda _: None)
    test = load_split(subject.metadata["dataset"], "test")
    total = len(test.y) if samples is None else samples
    if not 1 <= total <= len(test.y):
        raise LatdeployError(f"--samples {total} is outside 1..{len(test.y)} (test samples of the dataset)")
    if not 1 <= lava_samples <= total:
        raise LatdeployError(f"--lava-samples {lava_samples} is outside 1..{total} (the verified samples)")
    x, labels = test.x[:total], test.y[:total]
    spikes = encode(subject.model, x)
    step("float simulator")
    float_trace = simulate_float(subject.float_graph, spikes)
    step("fixed-point simulator")
    fixed_trace = simulate_fixed(subject.int_graph, spikes)
    step("Lava")
    lava = run_lava(subject.int_graph, spikes[:lava_samples])
    step("parity")
    report = parity_report(
        subject.int_graph,
        labels,
        float_trace,
        fixed_trace,
        lava.trace,
        lava.hardware_steps,
        float_graph=subject.float_graph,
        input_spikes=spikes,
    )
    report["robustness"] = []
    for corruption in corruptions:
        step(f"corruption {corruption.label}")
        report["robustness"].append(_robustness(subject, x, labels, corruption, seed, lava_samples))
    sample = raster_sample(report)
    on_lava = sample < lava_samples
    rasters = spike_rasters(
        subject.int_graph,
        spikes,
        float_trace,
        lava.trace if on_lava else fixed_trace,
        sample,
        "lava" if on_lava else "fixed",
    )
    return VerifyResult(report, rasters, spikes, fixed_trace, lava.trace, {"lava_seconds": lava.seconds})
