"""The verify flow: a model file or bundle -> float, fixed-point and hardware runs -> parity report.

The fixed-point simulator runs every sample, the hardware (a backend of
:mod:`latdeploy.backends`) the first ``hardware_samples``; the report is
:func:`latdeploy.verify.parity.parity_report`'s, plus robustness reruns under input
corruptions and the spike rasters that the HTML report draws.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latdeploy.backends.base import Backend
from latdeploy.backends.select import get_backend, resolve_backend
from latdeploy.data.registry import Split
from latdeploy.data.source import DataSpec, ModelData
from latdeploy.energy.counting import energy_report
from latdeploy.errors import InputFormatError, LatdeployError, ModelFormatError
from latdeploy.executors.evaluate import Evaluator, Execution, open_evaluator
from latdeploy.flows.model_source import (
    BUNDLE_MODEL_FILES,
    HOST_FILE,
    ModelSource,
    open_with_data,
    prepare_source,
    source_data,
    source_spikes,
)
from latdeploy.flows.prepare import spikes_of
from latdeploy.flows.sample_count import sample_count
from latdeploy.hw.profile import DEFAULT_PROFILE, Profile, load_profile
from latdeploy.ir import Graph
from latdeploy.ir.onnx_io import read_onnx
from latdeploy.nn.checkpoint import LIMITS
from latdeploy.nn.decoders import first_spike_decision
from latdeploy.report import schema_versions
from latdeploy.report.bundle import BUNDLE_MODEL_FILE, BUNDLE_PROFILE_FILE
from latdeploy.report.html import render_report
from latdeploy.report.rasters import raster_sample, spike_rasters
from latdeploy.report.schema_versions import check_version
from latdeploy.sim.trace import Trace
from latdeploy.untrusted.file_hash import sha256_of_file
from latdeploy.untrusted.json_document import load_json
from latdeploy.verify.corrupt import Corruption, corrupt
from latdeploy.verify.gates import Gates, evaluate_gates
from latdeploy.verify.parity import compare, head, parity_report

Progress = Callable[[str], None]
VERIFY_STAGES = 4
INTEGER_COMMANDS = ("verify", "energy")
"""The commands that take an integer file (no float model) as it is; ``sweep`` refuses it."""
MANIFEST_MAX_BYTES = 1 << 20
"""The largest ``manifest.json`` read (a bundle's is about 2 KB)."""
"""Progress stages of :func:`verify` besides one per corruption."""


@dataclass
class Subject:
    """What is verified: the model (for its encoder and dataset), both graphs, the profile and the
    data (:func:`latdeploy.data.source.model_data`: evaluated and calibration data, and their record)
    and, for a bundle, ``profile_note`` (:func:`bundle_profile`)."""

    model: Any
    metadata: dict[str, Any]
    float_graph: Graph | None
    """None for an integer file (``graph.int.onnx``, ``.net``), which has no float model."""
    int_graph: Graph
    profile: Profile
    source: str
    data: ModelData
    profile_note: str = ""
    """How the profile was chosen for a bundle: its own copy, or an explicit re-pricing (empty for a model file)."""
    repriced: bool = False
    """True for a bundle priced with a ``--profile`` instead of the profile it was built for."""
    built_for: str = ""
    """The name of the profile a bundle was built for (empty for a model file)."""
    opened: ModelSource | None = None
    """The opened model file (:mod:`latdeploy.flows.model_source`): its encoder turns the data into spikes."""

    def spikes(self, split: Split, count: int | None = None) -> np.ndarray:
        """Return the spikes ``[B, T, n]`` of the first ``count`` samples of ``split`` (None: all)
        (:func:`latdeploy.flows.model_source.source_spikes`)."""
        if self.opened is None:
            return spikes_of(self.model, split, count)
        return source_spikes(self.opened, split, count)


@dataclass
class VerifyResult:
    """``report`` is parity.json's content; ``rasters`` the spikes of one sample for the HTML plots
    (None for an integer file, which has no float run to draw)."""

    subject: Subject
    report: dict[str, Any]
    rasters: dict[str, Any] | None
    input_spikes: np.ndarray
    fixed_trace: Trace
    hardware_trace: Trace
    extra: dict[str, Any] = field(default_factory=dict)

    def html(self, title: str) -> str:
        """Return the HTML report of this verification (parity, the profile's energy, rasters)."""
        subject = self.subject
        energy = energy_report(
            subject.int_graph, self.input_spikes, self.fixed_trace, subject.profile, subject.float_graph
        )
        return render_report(self.report, [energy], self.rasters, title=title)


def read_manifest(bundle: Path) -> dict[str, Any]:
    """Return the bundle's ``manifest.json``: a JSON object within the metadata limits.

    Raises:
        ModelFormatError: if it is missing, unreadable, not JSON, beyond the limits of
            :func:`latdeploy.untrusted.json_document.load_json`, or not an object whose
            ``model`` field (if any) is an object, or whose ``schema_version`` is newer than
            :data:`latdeploy.report.schema_versions.MANIFEST`.
    """
    path = bundle / "manifest.json"
    if not path.is_file():
        raise ModelFormatError(f"{bundle}: not a latdeploy bundle (no manifest.json)")
    try:
        with path.open("rb") as handle:
            text = handle.read(MANIFEST_MAX_BYTES + 1)
    except OSError as error:
        raise ModelFormatError(f"{path}: cannot be read ({error.strerror or error})") from error
    manifest = load_json(text, str(path), max_bytes=MANIFEST_MAX_BYTES)
    if not isinstance(manifest, dict):
        raise ModelFormatError(f"{path}: not a latdeploy manifest (a JSON {type(manifest).__name__}, not an object)")
    check_version(manifest, schema_versions.MANIFEST, str(path))
    if not isinstance(manifest.get("model", {}), dict) or not isinstance(manifest.get("profile", {}), dict):
        raise ModelFormatError(f"{path}: fields 'model' and 'profile' must be JSON objects")
    return manifest


def _bundle_model_path(bundle: Path, manifest: dict[str, Any], model: Path | None) -> Path:
    if model is not None:
        return model
    copy = bundle / BUNDLE_MODEL_FILE
    recorded_file = manifest.get("model", {}).get("file")
    if recorded_file in BUNDLE_MODEL_FILES.values() and recorded_file != BUNDLE_MODEL_FILE:
        copy = bundle / recorded_file
    if recorded_file in BUNDLE_MODEL_FILES.values() and copy.is_file():
        if sha256_of_file(copy, limit=LIMITS["file_bytes"]) != manifest["model"].get("sha256"):
            raise ModelFormatError(f"{copy}: does not match the sha256 in manifest.json (altered after export)")
        return copy
    recorded = manifest.get("model", {}).get("path", "")
    if not isinstance(recorded, str):
        raise ModelFormatError(f"{bundle}/manifest.json: field 'model.path' must be a string; pass --model PATH")
    named = Path(recorded)
    for candidate in (named, bundle.parent / named, Path.cwd() / named.name):
        if candidate.is_file():
            if sha256_of_file(candidate, limit=LIMITS["file_bytes"]) != manifest["model"].get("sha256"):
                raise ModelFormatError(
                    f"{bundle}/manifest.json: model {candidate} does not match the recorded sha256; pass --model"
                )
            return candidate
    raise ModelFormatError(f"{bundle}/manifest.json: model file {str(named)!r} not found; pass --model PATH")


def recorded_data(bundle: Path, manifest: dict[str, Any]) -> Path | None:
    """Return the user data file or shard directory the bundle was made with, found again at its
    recorded path (as written, beside the bundle, or by name in the working directory) and checked
    against its recorded sha256; None for a shipped dataset.

    Raises:
        InputFormatError: if the data is not found, does not match its hash, or was an entry point
            (never run from a file latdeploy reads); the message asks for ``--data``.
    """
    record = manifest.get("data", {}).get("test", {}) if isinstance(manifest.get("data"), dict) else {}
    if not isinstance(record, dict) or "source" not in record:
        return None
    where = f"{bundle}/manifest.json"
    if record.get("kind") not in ("npz", "shards") or not isinstance(record["source"], str):
        raise InputFormatError(
            f"{where}: the data came from an entry point, which is never run from a file; pass --data"
        )
    named = Path(record["source"])
    for candidate in (named, bundle.parent / named, Path.cwd() / named.name):
        if record["kind"] == "npz" and candidate.is_file():
            found: Any = sha256_of_file(candidate, error=InputFormatError)
        elif record["kind"] == "shards" and candidate.is_dir():
            found = [sha256_of_file(shard, error=InputFormatError) for shard in sorted(candidate.glob("*.npz"))]
        else:
            continue
        if found != record.get("sha256"):
            raise InputFormatError(f"{where}: data {candidate} does not match the recorded sha256; pass --data")
        return candidate
    raise InputFormatError(f"{where}: data {str(named)!r} not found; pass --data")


def bundle_profile(bundle: Path, manifest: dict[str, Any], profile_name: str | None) -> tuple[Profile, str, bool]:
    """Return the profile to price ``bundle`` with, a note saying which it is, and whether it is a
    re-pricing.

    Without ``profile_name``: the bundle's own copy (``profile.yaml``, checked against the sha256
    in ``manifest.json``), or for a bundle written before it held one, the shipped profile of the
    recorded name. With ``profile_name``: that profile, an explicit re-pricing of a network
    quantized for the bundle's profile, and the note says so.

    Raises:
        ModelFormatError: if the bundle's copy is missing, altered, or the record is malformed.
        ProfileError: if the profile does not load.
    """
    record = manifest.get("profile", {})
    recorded = record.get("name", DEFAULT_PROFILE)
    if not isinstance(recorded, str):
        raise ModelFormatError(f"{bundle}/manifest.json: field 'profile.name' must be a string")
    if profile_name is not None:
        profile = load_profile(profile_name)
        return profile, f"re-priced with --profile {profile_name} (the bundle was built for {recorded})", True
    stored = record.get("file")
    if stored is None:
        return load_profile(recorded), f"{recorded} (recorded by name; the bundle holds no copy)", False
    if stored != BUNDLE_PROFILE_FILE:
        raise ModelFormatError(f"{bundle}/manifest.json: field 'profile.file' must be {BUNDLE_PROFILE_FILE!r}")
    path = bundle / BUNDLE_PROFILE_FILE
    if not path.is_file():
        raise ModelFormatError(f"{path}: missing; the bundle's profile is needed (or pass --profile to re-price)")
    if sha256_of_file(path, error=ModelFormatError) != record.get("sha256"):
        raise ModelFormatError(f"{path}: does not match the sha256 in manifest.json (altered after export)")
    return load_profile(str(path)), f"{recorded} (the bundle's own {BUNDLE_PROFILE_FILE})", False


def load_subject(
    path: Path,
    profile_name: str | None = None,
    weight_bits: int | None = None,
    model_path: Path | None = None,
    data: DataSpec | None = None,
    calibration_data: DataSpec | None = None,
    dt: float | None = None,
    command: str = "verify",
) -> Subject:
    """Load a model file (and quantize it) or a bundle directory (its ``graph.onnx``/``graph.int.onnx``).

    ``data`` and ``calibration_data`` are the user's data (:func:`latdeploy.data.source.model_data`);
    a bundle made with user data finds it again at its recorded path when ``data`` is None. A model
    file may be a checkpoint or a float graph file (:mod:`latdeploy.flows.model_source`; ``dt``: the time
    step of a ``.nir`` file that states none), quantized for the profile on the calibration data, or,
    for ``command`` in :data:`INTEGER_COMMANDS`, an integer file (``graph.int.onnx``, ``.net``) taken
    as it is (no float graph; labels optional).

    Raises:
        ModelFormatError: for a malformed bundle, or a model file that is missing or altered, or an
            integer file for a ``command`` that is not in :data:`INTEGER_COMMANDS`.
        InputFormatError: for data that cannot be read or found, or does not fit the model.
        LatdeployError: for a bad profile or weight bit width.
    """
    path = Path(path)
    if path.is_dir():
        manifest = read_manifest(path)
        host = path / HOST_FILE if (path / HOST_FILE).is_file() else None
        recorded_dt = manifest.get("model", {}).get("dt")  # the --dt a NIR file was exported with
        source, data = open_with_data(
            _bundle_model_path(path, manifest, model_path),
            data or recorded_data(path, manifest),
            dt=dt if dt is not None else recorded_dt,
            host_file=host,
        )
        source, chosen = source_data(source, data, calibration=False, labels=not source.integer)
        graphs: dict[str, Graph | None] = {"graph.onnx": None}
        for name in ("graph.int.onnx",) if source.integer else ("graph.onnx", "graph.int.onnx"):
            if not (path / name).is_file():
                raise ModelFormatError(f"{path}: bundle has no {name}")
            graphs[name] = read_onnx(path / name)
        profile, note, repriced = bundle_profile(path, manifest, profile_name)
        return Subject(
            source.model,
            source.metadata,
            graphs["graph.onnx"],
            graphs["graph.int.onnx"],
            profile,
            str(path),
            chosen,
            note,
            repriced,
            str(manifest.get("profile", {}).get("name", DEFAULT_PROFILE)),
            source,
        )
    source, data = open_with_data(path, data, dt=dt)
    if command not in INTEGER_COMMANDS:
        source.require_float(command)
    profile = load_profile(profile_name or DEFAULT_PROFILE)
    source, chosen = source_data(source, data, calibration_data, labels=not source.integer)
    prepared = prepare_source(source, profile, weight_bits, source_spikes(source, chosen.calibration))
    return Subject(
        source.model,
        source.metadata,
        prepared.float_graph,
        prepared.int_graph,
        profile,
        str(path),
        chosen,
        opened=source,
    )


def _robustness(
    subject: Subject,
    x: np.ndarray,
    labels: np.ndarray,
    corruption: Corruption,
    seed: int,
    hardware_samples: int,
    backend: Backend,
    evaluator: Evaluator,
) -> dict[str, Any]:
    spikes = subject.spikes(Split(corrupt(x, corruption, seed), labels))
    runs = evaluator.evaluate(subject.int_graph, spikes, subject.float_graph, ("float", "fixed"))
    hardware = evaluator.evaluate(
        subject.int_graph, spikes, simulators=(), backend=backend.name, hardware_samples=hardware_samples
    ).hardware
    traces = {**runs.traces, "hardware": hardware.trace}
    decisions = {name: first_spike_decision(t.output().spikes, t.output().v_pre) for name, t in traces.items()}
    float_fixed = compare(traces["float"], traces["fixed"])
    fixed_hardware = compare(head(traces["fixed"], hardware_samples), traces["hardware"])
    return {
        "corruption": corruption.label,
        "seed": seed,
        "accuracy": {name: float((d.label == labels[: d.label.size]).mean()) for name, d in decisions.items()},
        "decision_agreement_float_vs_fixed": float((decisions["float"].label == decisions["fixed"].label).mean()),
        "float_vs_fixed": {key: float_fixed[key] for key in ("compared", "mismatches")},
        "fixed_vs_hardware": {key: fixed_hardware[key] for key in ("compared", "mismatches")},
    }


def verify(
    subject: Subject,
    samples: int | None = 100,
    hardware_samples: int = 20,
    corruptions: Sequence[Corruption] = (),
    seed: int = 0,
    progress: Progress | None = None,
    backend: Backend | None = None,
    gates: Gates | None = None,
    evaluator: Evaluator | None = None,
) -> VerifyResult:
    """Run float and fixed point on ``samples`` test samples (None: all), the hardware on the first
    ``hardware_samples`` (at most ``samples``: more are clamped, and the report's ``hardware_samples``
    says how many ran).

    ``backend`` runs the hardware run (None: :func:`latdeploy.backends.select.get_backend`'s default);
    ``evaluator`` runs every part in chunks of samples (:mod:`latdeploy.executors.evaluate`; None:
    the local executor within the default memory limit) and ``result.extra["executor"]`` records
    what it did (chunks, retried sample ranges).

    Returns:
        The :class:`VerifyResult`; ``report["gates"]`` judges it by ``gates`` (None: the defaults,
        :func:`latdeploy.verify.gates.evaluate_gates`); ``report["robustness"]`` holds one entry per corruption
        (float, fixed-point and hardware runs of the corrupted inputs, seeded; the hardware on
        the first ``hardware_samples``).

    Raises:
        LatdeployError: for sample counts outside the test set.
        ResourceError: if the samples cannot fit the memory limit (before anything runs).
        BackendError: if the backend is missing or its run fails (a chunk: every try).
    """
    if evaluator is None:
        with open_evaluator() as local:
            return verify(subject, samples, hardware_samples, corruptions, seed, progress, backend, gates, local)
    backend = backend or get_backend()
    step = progress or (lambda _: None)
    test = subject.data.test
    total = sample_count(samples, len(test.x))
    if hardware_samples < 1:
        raise LatdeployError(f"--hardware-samples {hardware_samples} is not >= 1")
    hardware_samples = min(hardware_samples, total)
    if corruptions and test.encoded:
        raise InputFormatError("--corrupt needs inputs the model's encoder encodes; --data holds encoded spikes")
    x, labels = test.x[:total], None if test.y is None else test.y[:total]
    spikes = subject.spikes(test, total)
    step("float simulator")
    float_trace = (
        None
        if subject.float_graph is None
        else evaluator.evaluate(subject.int_graph, spikes, subject.float_graph, ("float",)).traces["float"]
    )
    step("fixed-point simulator")
    fixed_trace = evaluator.evaluate(subject.int_graph, spikes, simulators=("fixed",)).traces["fixed"]
    step(backend.short_label)
    hardware = evaluator.evaluate(
        subject.int_graph, spikes, simulators=(), backend=backend.name, hardware_samples=hardware_samples
    ).hardware
    step("parity")
    report = parity_report(
        subject.int_graph,
        labels,
        float_trace,
        fixed_trace,
        hardware.trace,
        hardware.hardware_steps,
        backend.name,
        float_graph=subject.float_graph,
        input_spikes=spikes,
    )
    report["gates"] = evaluate_gates(report, gates or Gates())
    report["robustness"] = []
    for corruption in corruptions:
        step(f"corruption {corruption.label}")
        report["robustness"].append(
            _robustness(subject, x, labels, corruption, seed, hardware_samples, backend, evaluator)
        )
    sample = raster_sample(report)
    on_hardware = sample < hardware_samples
    rasters = (
        None
        if float_trace is None
        else spike_rasters(
            subject.int_graph,
            spikes,
            float_trace,
            hardware.trace if on_hardware else fixed_trace,
            sample,
            backend.name if on_hardware else "fixed",
        )
    )
    extra = {"hardware_seconds": hardware.seconds, "executor": evaluator.record.as_dict()}
    return VerifyResult(subject, report, rasters, spikes, fixed_trace, hardware.trace, extra)


def verify_source(
    source: Path,
    samples: int | None = 100,
    hardware_samples: int = 20,
    profile_name: str | None = None,
    weight_bits: int | None = None,
    model_path: Path | None = None,
    corruptions: Sequence[Corruption] = (),
    seed: int = 0,
    backend: str | None = None,
    progress: Progress | None = None,
    data: DataSpec | None = None,
    calibration_data: DataSpec | None = None,
    gates: Gates | None = None,
    execution: Execution | None = None,
    dt: float | None = None,
) -> VerifyResult:
    """``latdeploy verify``: load ``source`` (:func:`load_subject`) and :func:`verify` it on the
    backend named ``backend`` (None: the one that computes the subject's profile,
    :func:`latdeploy.backends.select.backend_for_profile`: ``xylo`` for ``xylo-audio2``) on ``data``
    (None: the shipped test split, or the data a bundle recorded); ``progress`` sees ``VERIFY_STAGES``
    stages plus one per corruption; ``execution`` says how the samples run (executor, memory limit,
    chunks; None: locally); ``dt`` is the time step of a ``.nir`` file that states none.

    Returns:
        The :class:`VerifyResult`.

    Raises:
        LatdeployError: for a bad source, profile, backend or sample count.
        BackendError: if the backend is missing or its run fails.
    """
    subject = load_subject(source, profile_name, weight_bits, model_path, data, calibration_data, dt)
    chosen = resolve_backend(backend, subject.profile)
    with open_evaluator(execution) as evaluator:
        return verify(
            subject, samples, hardware_samples, corruptions, seed, progress, chosen, gates=gates, evaluator=evaluator
        )
