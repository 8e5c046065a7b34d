"""The export flow: model file -> IR -> integer IR -> backend run -> parity and energy -> bundle."""

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
from latdeploy.backends.select import backend_for_target
from latdeploy.data.registry import Split
from latdeploy.data.source import DataSpec, data_paths
from latdeploy.energy.counting import energy_report
from latdeploy.errors import LatdeployError
from latdeploy.executors.base import DEFAULT_EXECUTOR
from latdeploy.executors.evaluate import Execution, open_evaluator
from latdeploy.flows.model_source import (
    ModelSource,
    bundle_model_file,
    open_with_data,
    prepare_source,
    source_data,
    source_spikes,
)
from latdeploy.flows.sample_count import sample_count
from latdeploy.hw.mapper import map_graph
from latdeploy.hw.profile import DEFAULT_PROFILE, load_profile
from latdeploy.ir import Graph
from latdeploy.ir.onnx_io import write_onnx
from latdeploy.nn.checkpoint import LIMITS
from latdeploy.passes.range_analysis import check_ranges, range_report
from latdeploy.report import schema_versions
from latdeploy.report.bundle import BUNDLE_PROFILE_FILE, dump_json, write_bundle
from latdeploy.report.output_paths import check_directory_output
from latdeploy.report.prerender import report_child
from latdeploy.report.rasters import raster_sample, spike_rasters
from latdeploy.report.schema_versions import versioned
from latdeploy.sim.trace import Trace
from latdeploy.untrusted.file_hash import sha256_of_file
from latdeploy.verify.gates import Gates, evaluate_gates, gates_ok
from latdeploy.verify.parity import parity_ok, parity_report

EXPORT_STAGES = 4


@dataclass
class ExportResult:
    """What :func:`export` wrote and measured (timings are not in the bundle, which is deterministic).

    ``hardware`` names the backend that ran the hardware run (:mod:`latdeploy.backends`); ``data``
    says which data was evaluated and calibrated on (``manifest.json``'s ``data``); ``executor``
    what the executor did (:class:`latdeploy.executors.driver.ExecutionRecord`, not in the bundle,
    which is the same whatever the executor).
    """

    out: Path
    parity: dict[str, Any]
    energy: dict[str, Any]
    hardware: str
    hardware_seconds: float
    fixed_seconds: float
    warnings: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    executor: dict[str, Any] = field(default_factory=dict)

    @property
    def parity_ok(self) -> bool:
        """True when the fixed-point simulator and the hardware agree (:func:`latdeploy.verify.parity.parity_ok`)."""
        return parity_ok(self.parity)

    @property
    def gates_ok(self) -> bool:
        """True when every verdict gate passed (:func:`latdeploy.verify.gates.gates_ok`)."""
        return gates_ok(self.parity)


def _host_model(source: ModelSource, test: Split, samples: int, spikes: np.ndarray) -> bytes | None:
    """Return ``host.onnx`` (the encoder as plain ONNX, checked to give ``spikes`` on the first ``samples``
    of ``test``): exported from a checkpoint's encoder, or the graph file's own; None for encoded data or
    a graph file whose encoder has no ONNX form here.

    Raises:
        HostOnnxError: if it does not reproduce ``spikes``.
    """
    if test.encoded:
        return None
    host = host_onnx_bytes(source.model, test.x[:samples]) if source.is_checkpoint else source.host
    if host is not None:
        check_host_onnx(host, test.x[:samples], spikes)
    return host


def export(
    model_path: Path,
    target: str | None = None,
    out: Path | None = None,
    samples: int | None = 100,
    profile_name: str = DEFAULT_PROFILE,
    command_line: str = "",
    trust_pickle: bool = False,
    timeout: float | None = None,
    weight_bits: int | None = None,
    allow_overflow: bool = False,
    formats: tuple[str, ...] = ("onnx",),
    progress: Callable[[str], None] | None = None,
    force: bool = False,
    data: DataSpec | None = None,
    calibration_data: DataSpec | None = None,
    gates: Gates | None = None,
    execution: Execution | None = None,
    dt: float | None = None,
) -> ExportResult:
    """Export ``model_path`` to ``target`` and verify it on ``samples`` test samples (None: all).

    ``parity.json``'s ``gates`` judge the result by ``gates`` (None: the defaults,
    :func:`latdeploy.verify.gates.evaluate_gates`); the bundle is written either way.

    ``target`` selects the backend that runs the hardware run
    (:func:`latdeploy.backends.select.backend_for_target`; None: the default backend's).

    ``weight_bits`` (1..8) overrides the profile's weight bits for bit-width studies.
    ``allow_overflow`` turns a 24-bit wrap of ``u`` or saturation of ``v`` on the calibration
    data from an error into a warning (:func:`latdeploy.passes.range_analysis.check_ranges`).
    ``formats`` adds interchange files (:mod:`latdeploy.backends.interchange`: ``netx`` -> ``graph.net``,
    ``nir`` -> ``graph.nir``); the ONNX graphs are always written, and so is ``host.onnx``
    (the encoder as plain ONNX, :mod:`latdeploy.backends.host_onnx`), checked first to give
    exactly the verified samples' spikes in onnxruntime.

    ``trust_pickle`` lets :func:`latdeploy.nn.checkpoint.load` unpickle the model file in
    full (it may then run code from the file); leave it off for files you did not make.
    ``timeout`` limits the backend run's wall-clock seconds (None: no limit).
    ``progress(stage)`` is called as each long stage starts (``EXPORT_STAGES`` of them).
    ``data`` (an ``.npz``, a directory of shards or ``module:function``) replaces the test split of
    the model's shipped dataset, ``calibration_data`` its training split (default: the first part of
    ``data``); both are checked against the model before anything runs
    (:func:`latdeploy.data.source.model_data`) and ``manifest.json``'s ``data`` says what was used.
    Already-encoded spike data has no analog input for ``host.onnx``, which is then not written.
    ``out`` (default ``<model stem>.latdeploy``) is checked before anything else
    (:func:`latdeploy.report.output_paths.check_directory_output`; ``force`` lets the bundle
    replace a regular file that is not an input). ``execution`` says how the samples run
    (:class:`latdeploy.executors.evaluate.Execution`: executor, memory limit, chunks; None: locally,
    within the default limit); the bundle is the same whatever it says.

    ``model_path`` is a checkpoint or a float graph file (:mod:`latdeploy.flows.model_source`): a
    ``.nir``/``.onnx`` graph is quantized for the profile on the calibration data; it needs ``data``, and
    ``dt`` is the time step of a ``.nir`` file that states none. An integer file (``graph.int.onnx``,
    ``.net``) is not quantized: it runs as it is, on ``data`` holding encoded spikes (labels optional),
    and the parity is its fixed-point run against the hardware on every layer; it has no float model,
    so ``parity.json``'s float values are null with the reason (``float_run``), the float-based gates
    are not applicable, the report draws no rasters, the ANN equivalent is counted on the integer
    graph, and the bundle holds no ``graph.onnx`` or ``quantization.json``.

    Returns:
        The :class:`ExportResult`; the bundle is at ``result.out``.

    Raises:
        OutputPathError: if ``out`` may not be written (checked first) or writing it fails.
        LatdeployError: for a bad model file, profile, target or sample count
            (nothing is written then).
        InputFormatError: for data that cannot be read or does not fit the model (nothing is written).
        ResourceError: if the network does not fit the profile's cores, or the samples the memory
            limit (nothing is written).
        QuantizationRangeError: if ``u`` or ``v`` overflows on calibration data and
            ``allow_overflow`` is off (nothing is written).
        BackendError: if the backend is missing, its run fails or takes longer than ``timeout``.
        HostOnnxError: if ``host.onnx`` does not reproduce the encoder's spikes (nothing is written).
    """
    model_path = Path(model_path)
    out = Path(out) if out is not None else Path(f"{model_path.stem}.latdeploy")
    check_directory_output(out, [model_path, Path(profile_name), *data_paths(data, calibration_data)], force)
    # the report's child, forked before the model loads: it imports matplotlib on the other core meanwhile
    # (not beside a Ray client, whose threads a fork would copy)
    ahead = (execution or Execution()).executor == DEFAULT_EXECUTOR
    with report_child(fork=ahead) as report_ahead:
        backend = backend_for_target(target)
        source, data = open_with_data(model_path, data, trust_pickle=trust_pickle, dt=dt)
        if source.integer and "nir" in formats:
            raise LatdeployError(f"{model_path}: --format nir writes the float graph, which an integer file lacks")
        sha256_of_file(model_path, limit=LIMITS["file_bytes"])  # refuses a file beyond the limit before reading it
        model_bytes = model_path.read_bytes()
        profile = load_profile(profile_name)
        profile_yaml = profile.path.read_bytes()
        source, chosen = source_data(source, data, calibration_data, labels=not source.integer)
        metadata = source.metadata
        test = chosen.test
        samples = sample_count(samples, len(test.x), metadata["dataset"] if data is None else "--data")

        step = progress or (lambda _stage: None)
        step("quantize")
        prepared = prepare_source(source, profile, weight_bits, source_spikes(source, chosen.calibration))
        graph, int_graph = prepared.float_graph, prepared.int_graph
        warnings = check_ranges(range_report(int_graph, profile, prepared.calibration), allow_overflow)
        mapping = map_graph(int_graph, profile)
        interchange = interchange_writers(graph, int_graph, tuple(formats))

        step("float and fixed-point simulators")
        spikes = source_spikes(source, test, samples)
        labels = None if test.y is None else test.y[:samples]
        host_model = _host_model(source, test, samples, spikes)
        title = f"latdeploy export {model_path.name}"
        with open_evaluator(execution) as evaluator:
            float_trace = (
                None if graph is None else evaluator.evaluate(int_graph, spikes, graph, ("float",)).traces["float"]
            )
            started = time.perf_counter()
            fixed_trace = evaluator.evaluate(int_graph, spikes, simulators=("fixed",)).traces["fixed"]
            fixed_seconds = time.perf_counter() - started
            energy = energy_report(int_graph, spikes, fixed_trace, profile, graph)

            def judged(hardware_trace: Trace, hardware_steps: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
                simulated = (float_trace, fixed_trace)
                return _judged(
                    int_graph, graph, spikes, labels, simulated, hardware_trace, hardware_steps, backend.name, gates
                )

            # the report as it will be if the hardware equals the fixed-point simulator, drawn on the other core
            if ahead:
                expected, expected_rasters = judged(fixed_trace, _scheduled_steps(int_graph, samples))
                report_ahead.ahead(expected, [energy], expected_rasters, title)
            step(backend.short_label)
            hardware = evaluator.evaluate(
                int_graph, spikes, simulators=(), backend=backend.name, hardware_samples=samples, timeout=timeout
            ).hardware
            step("parity, energy, bundle")
            parity, rasters = judged(hardware.trace, hardware.hardware_steps)
            report = report_ahead.take(parity, [energy], rasters, title)

    model_file = bundle_model_file(source.format, model_path)
    float_files = [] if graph is None else ["graph.onnx", "quantization.json"]
    manifest = {
        "latdeploy": latdeploy.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        **backend.versions(),
        "target": backend.target,
        "run_config": backend.run_config,
        "profile": {
            "name": profile.name,
            "path": str(profile.path.name),
            "sha256": hashlib.sha256(profile_yaml).hexdigest(),
            "file": BUNDLE_PROFILE_FILE,
        },
        "model": {
            "path": str(model_path),
            "sha256": hashlib.sha256(model_bytes).hexdigest(),
            "file": model_file,
            "format": source.format,
            **({"dt": dt} if dt is not None else {}),
        },
        "dataset": metadata["dataset"],
        "data": chosen.record,
        "test_samples": samples,
        "command_line": command_line,
        "weight_bits": weight_bits or profile["arithmetic.weight_bits"],
        "files": [
            *float_files[:1],
            "graph.int.onnx",
            BUNDLE_PROFILE_FILE,
            model_file,
            *(["host.onnx"] if host_model is not None else []),
            "parity.json",
            "energy.json",
            *float_files[1:],
            "mapping.json",
            "report.html",
            *interchange,
        ],
    }
    write_bundle(
        out,
        {
            "manifest.json": lambda p: p.write_text(dump_json(versioned(manifest, schema_versions.MANIFEST))),
            **({"graph.onnx": lambda p: write_onnx(graph, p)} if graph is not None else {}),
            "graph.int.onnx": lambda p: write_onnx(int_graph, p),
            BUNDLE_PROFILE_FILE: lambda p: p.write_bytes(profile_yaml),
            model_file: lambda p: p.write_bytes(model_bytes),
            **({"host.onnx": lambda p: p.write_bytes(host_model)} if host_model is not None else {}),
            **interchange,
            **(
                {
                    "quantization.json": lambda p: p.write_text(
                        dump_json(
                            {
                                "schema_version": schema_versions.QUANTIZATION,
                                "layers": int_graph.metadata["quantization"],
                            }
                        )
                    )
                }
                if graph is not None
                else {}
            ),
            "parity.json": lambda p: p.write_text(dump_json(parity)),
            "energy.json": lambda p: p.write_text(dump_json(versioned(energy, schema_versions.ENERGY))),
            "mapping.json": lambda p: p.write_text(dump_json(versioned(mapping, schema_versions.MAPPING))),
            "report.html": lambda p: p.write_text(report),
        },
    )
    return ExportResult(
        out=out,
        parity=parity,
        energy=energy,
        hardware=backend.name,
        hardware_seconds=hardware.seconds,
        fixed_seconds=fixed_seconds,
        warnings=warnings,
        data=chosen.record,
        executor=evaluator.record.as_dict(),
    )


def _judged(
    int_graph: Graph,
    graph: Graph | None,
    spikes: np.ndarray,
    labels: np.ndarray | None,
    simulated: tuple[Trace | None, Trace],
    hardware_trace: Trace,
    hardware_steps: int,
    hardware: str,
    gates: Gates | None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Return ``parity.json``'s content (gates judged by ``gates``, None: the defaults) and the
    report's rasters for the hardware run ``hardware_trace`` of ``hardware_steps`` steps, beside the
    ``simulated`` float and fixed-point traces (an integer file has no float trace, and no rasters,
    which draw the float run against the hardware; ``labels`` None: data without labels)."""
    float_trace, fixed_trace = simulated
    parity = parity_report(
        int_graph,
        labels,
        float_trace,
        fixed_trace,
        hardware_trace,
        hardware_steps,
        hardware,
        float_graph=graph,
        input_spikes=spikes,
    )
    parity["gates"] = evaluate_gates(parity, gates or Gates())
    if float_trace is None:
        return parity, None
    rasters = spike_rasters(int_graph, spikes, float_trace, hardware_trace, raster_sample(parity), hardware)
    return parity, rasters


def _scheduled_steps(graph: Graph, samples: int) -> int:
    """Return the steps a backend run of ``samples`` samples takes on the schedule every backend
    keeps (:mod:`latdeploy.executors.join`): one period (``T`` + the longest axonal delay) per
    sample, then the deepest layer's lag. Only the report drawn ahead uses it: a backend that ran
    another count gets its report drawn again (:mod:`latdeploy.report.prerender`)."""
    depth = max((graph.lag(node.name) for node in graph.neurons()), default=0)
    return samples * (graph.timesteps + graph.max_delay()) + depth
