"""The export flow: model file -> IR -> integer IR -> Lava run -> parity and energy -> bundle."""

from __future__ import annotations

import hashlib
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import latdeploy
from latdeploy.backends.host_onnx import check_host_onnx, host_onnx_bytes
from latdeploy.backends.interchange import interchange_writers
from latdeploy.backends.lava import lava_versions, run_lava
from latdeploy.data import load_split
from latdeploy.energy.counting import energy_report
from latdeploy.errors import LatdeployError
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.mapper import map_graph
from latdeploy.hw.profile import load_profile
from latdeploy.ir.onnx_io import write_onnx
from latdeploy.nn.checkpoint import load
from latdeploy.nn.evaluation import model_inputs
from latdeploy.passes.quantize import quantize
from latdeploy.passes.range_analysis import check_ranges, range_report
from latdeploy.report.bundle import dump_json, write_bundle
from latdeploy.report.html import render_report
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.sim.float_sim import simulate_float
from latdeploy.verify.flow import raster_sample, spike_rasters
from latdeploy.verify.parity import parity_report

TARGETS = ("loihi2-sim",)
EXPORT_STAGES = 4
CALIBRATION_SAMPLES = 512


@dataclass
class ExportResult:
    """What :func:`export` wrote and measured (timings are not in the bundle, which is deterministic)."""

    out: Path
    parity: dict[str, Any]
    energy: dict[str, Any]
    lava_seconds: float
    fixed_seconds: float
    warnings: list[str] = field(default_factory=list)

    @property
    def parity_ok(self) -> bool:
        """True when the fixed-point simulator and Lava agree on every spike slot and output state."""
        return self.parity["fixed_vs_lava"]["mismatches"] == 0 and not any(self.parity["output_state_vs_lava"].values())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def encode(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """Encode data ``x`` (images ``[B, n]`` or event streams) with the model's host-side encoder.

    Returns:
        ``[B, T, n]`` uint8 spikes (graded payloads for STC currents), each step flattened in C order.
    """
    with torch.no_grad():
        spikes = model.encoder(model_inputs(x, model.config))
    return spikes.transpose(0, 1).flatten(2).numpy().astype(np.uint8)


def export(
    model_path: Path,
    target: str = "loihi2-sim",
    out: Path | None = None,
    samples: int = 100,
    profile_name: str = "loihi2",
    command_line: str = "",
    trust_pickle: bool = False,
    lava_timeout: float | None = None,
    weight_bits: int | None = None,
    allow_overflow: bool = False,
    formats: tuple[str, ...] = ("onnx",),
    progress: Callable[[str], None] | None = None,
) -> ExportResult:
    """Export ``model_path`` to ``target`` and verify it on ``samples`` test samples.

    ``weight_bits`` (1..8) overrides the profile's weight bits for bit-width studies.
    ``allow_overflow`` turns a 24-bit wrap of ``u`` or saturation of ``v`` on the calibration
    data from an error into a warning (:func:`latdeploy.passes.range_analysis.check_ranges`).
    ``formats`` adds interchange files (:mod:`latdeploy.backends.interchange`: ``netx`` -> ``graph.net``,
    ``nir`` -> ``graph.nir``); the ONNX graphs are always written, and so is ``host.onnx``
    (the encoder as plain ONNX, :mod:`latdeploy.backends.host_onnx`), checked first to give
    exactly the verified samples' spikes in onnxruntime.

    ``trust_pickle`` lets :func:`latdeploy.nn.checkpoint.load` unpickle the model file in
    full (it may then run code from the file); leave it off for files you did not make.
    ``lava_timeout`` limits the Lava run's wall-clock seconds (None: no limit).
    ``progress(stage)`` is called as each long stage starts (``EXPORT_STAGES`` of them).

    Returns:
        The :class:`ExportResult`; the bundle is at ``result.out``.

    Raises:
        LatdeployError: for a bad model file, profile, target or sample count
            (nothing is written then).
        ResourceError: if the network does not fit the profile's cores (nothing is written).
        QuantizationRangeError: if ``u`` or ``v`` overflows on calibration data and
            ``allow_overflow`` is off (nothing is written).
        BackendError: if Lava is missing or its run fails.
        HostOnnxError: if ``host.onnx`` does not reproduce the encoder's spikes (nothing is written).
    """
    if target not in TARGETS:
        raise LatdeployError(f"unknown target {target!r}; supported: {list(TARGETS)}")
    model_path = Path(model_path)
    model, metadata = load(model_path, trust_pickle=trust_pickle)
    profile = load_profile(profile_name)
    test = load_split(metadata["dataset"], "test")
    if not 1 <= samples <= len(test.y):
        raise LatdeployError(f"--samples {samples} is outside 1..{len(test.y)} (test samples of {metadata['dataset']})")
    out = Path(out) if out is not None else Path(f"{model_path.stem}.latdeploy")

    step = progress or (lambda _stage: None)
    step("quantize")
    graph = graph_from_module(model, metadata)
    train = load_split(metadata["dataset"], "train")
    calibration = encode(model, train.x[:CALIBRATION_SAMPLES])
    int_graph, _ = quantize(graph, profile, calibration, weight_bits=weight_bits)
    warnings = check_ranges(range_report(int_graph, profile, calibration), allow_overflow)
    mapping = map_graph(int_graph, profile)
    interchange = interchange_writers(graph, int_graph, tuple(formats))

    step("float and fixed-point simulators")
    spikes = encode(model, test.x[:samples])
    labels = test.y[:samples]
    host_model = host_onnx_bytes(model, test.x[:samples])
    check_host_onnx(host_model, test.x[:samples], spikes)
    float_trace = simulate_float(graph, spikes)
    started = time.perf_counter()
    fixed_trace = simulate_fixed(int_graph, spikes)
    fixed_seconds = time.perf_counter() - started
    step("Lava")
    lava = run_lava(int_graph, spikes, timeout=lava_timeout)
    step("parity, energy, bundle")

    parity = parity_report(
        int_graph,
        labels,
        float_trace,
        fixed_trace,
        lava.trace,
        lava.hardware_steps,
        float_graph=graph,
        input_spikes=spikes,
    )
    rasters = spike_rasters(int_graph, spikes, float_trace, lava.trace, raster_sample(parity), "lava")
    energy = energy_report(int_graph, spikes, fixed_trace, profile)
    manifest = {
        "latdeploy": latdeploy.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        **lava_versions(),
        "target": target,
        "run_config": "Loihi2SimCfg(select_tag='fixed_pt')",
        "profile": {"name": profile.name, "path": str(profile.path.name), "sha256": _sha256(profile.path)},
        "model": {"path": str(model_path), "sha256": _sha256(model_path)},
        "dataset": metadata["dataset"],
        "test_samples": samples,
        "command_line": command_line,
        "weight_bits": weight_bits or profile["arithmetic.weight_bits"],
        "files": [
            "graph.onnx",
            "graph.int.onnx",
            "host.onnx",
            "parity.json",
            "energy.json",
            "quantization.json",
            "mapping.json",
            "report.html",
            *interchange,
        ],
    }
    write_bundle(
        out,
        {
            "manifest.json": lambda p: p.write_text(dump_json(manifest)),
            "graph.onnx": lambda p: write_onnx(graph, p),
            "graph.int.onnx": lambda p: write_onnx(int_graph, p),
            "host.onnx": lambda p: p.write_bytes(host_model),
            **interchange,
            "quantization.json": lambda p: p.write_text(dump_json(int_graph.metadata["quantization"])),
            "parity.json": lambda p: p.write_text(dump_json(parity)),
            "energy.json": lambda p: p.write_text(dump_json(energy)),
            "mapping.json": lambda p: p.write_text(dump_json(mapping)),
            "report.html": lambda p: p.write_text(
                render_report(parity, [energy], rasters, title=f"latdeploy export {model_path.name}")
            ),
        },
    )
    return ExportResult(
        out=out,
        parity=parity,
        energy=energy,
        lava_seconds=lava.seconds,
        fixed_seconds=fixed_seconds,
        warnings=warnings,
    )
