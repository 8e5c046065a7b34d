"""Run a model file on given input spikes with one backend: a simulator (``fixed``, ``float``) or a
registered hardware backend (:mod:`latdeploy.backends`, e.g. ``lava``).

Arrays use Lava's ring-buffer layout: ``(neurons, steps)`` for one sample,
``(samples, neurons, steps)`` for many. Outputs are in algorithmic time (step
``t`` of the model; a hardware run is aligned by each layer's lag), so every
backend's arrays are directly comparable. ``sim_seconds`` times the simulation
alone: no file reading, quantization or backend compilation. All samples run in one
hardware run, graphs with axonal delays too (the Lava runner pads each sample by the
longest delay and gates spikes outside the sample windows before a delay).

Input values are spikes (0/1), except where the graph's input drives a neuron
directly (a netx input layer with a neuron): there they are that neuron's integer
input currents in ``[0, 255]``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latdeploy.backends.select import backend_names, get_backend
from latdeploy.data.spike_files import load_spike_array
from latdeploy.errors import InputFormatError, LatdeployError
from latdeploy.executors.join import join_traces
from latdeploy.flows.input_layouts import to_batch
from latdeploy.frontend.model_file import detect_format, load_graph, read_graph_file
from latdeploy.hw.profile import DEFAULT_PROFILE, load_profile
from latdeploy.ir import Graph
from latdeploy.ir.describe import is_integer_graph
from latdeploy.passes.base import run_passes
from latdeploy.passes.quantize import QuantizeForProfile
from latdeploy.report.bundle import atomic_file
from latdeploy.report.output_paths import check_file_output, check_free_space
from latdeploy.sim.budget import plan_chunks
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.sim.float_sim import simulate_float
from latdeploy.sim.trace import Trace

SIMULATORS = {"fixed": simulate_fixed, "float": simulate_float}
GRAPH_FILES = ("onnx", "nir")
"""Formats that hold one graph, float or integer (a float one is quantized on the input it runs)."""
CURRENT_INPUT_MAX = 255


def run_backends() -> list[str]:
    """Return what ``latdeploy run --backend`` accepts: the simulators, then every registered backend."""
    return [*SIMULATORS, *backend_names()]


@dataclass
class RunResult:
    """A finished run: ``trace`` (``[B, T, N]`` per layer), timings and facts for ``--json``."""

    graph: Graph
    trace: Trace
    backend: str
    sim_seconds: float
    single_sample: bool
    facts: dict[str, Any] = field(default_factory=dict)
    layout: str = "NT"

    def output_layer(self) -> str:
        """Name of the output (last) neuron layer."""
        return list(self.trace.layers)[-1]

    def to_ring_buffer(self, spikes: np.ndarray) -> np.ndarray:
        """Return ``[B, T, N]`` spikes in the input's layout: ``(samples, steps, N)`` for a ``BT`` input,
        else the ring buffer ``(N, T)`` (one sample) or ``(B, N, T)``."""
        flat = spikes.reshape(*spikes.shape[:2], -1)
        if self.layout == "BT":
            return flat
        ring = flat.transpose(0, 2, 1)
        return ring[0] if self.single_sample else ring

    def summary(self) -> dict[str, Any]:
        """Return the JSON-able summary (``backend``, ``samples``, ``steps``, ``sim_seconds``, ...)."""
        output = self.trace.layers[self.output_layer()]
        return {
            "backend": self.backend,
            "samples": int(output.spikes.shape[0]),
            "steps": int(output.spikes.shape[1]),
            "sim_seconds": self.sim_seconds,
            "time": "algorithmic",
            "input_neurons": int(self.graph.input.size),
            "output_layer": self.output_layer(),
            "output_neurons": int(np.prod(output.spikes.shape[2:])),
            "output_spikes": int(output.spikes.sum(dtype=np.int64)),
            "layer_spikes": {name: int(layer.spikes.sum(dtype=np.int64)) for name, layer in self.trace.layers.items()},
            **self.facts,
        }


def load_input(path: str | os.PathLike[str]) -> np.ndarray:
    """Read input values in ``[0, 255]`` from the ``.npy`` file ``path`` (untrusted; never unpickled).

    :func:`run_file` then checks them against the model (0/1 unless it takes currents).

    Raises:
        InputFormatError: if the file is not a valid spike array.
    """
    return load_spike_array(path, max_value=CURRENT_INPUT_MAX)


def input_value_limit(graph: Graph) -> int:
    """Return the largest input value ``graph`` takes: 255 if its input drives a neuron directly, else 1."""
    feeds_neuron = any(node.kind == "neuron" and graph.input.name in node.inputs for node in graph.nodes)
    return CURRENT_INPUT_MAX if feeds_neuron else 1


def check_input_values(spikes: np.ndarray, graph: Graph, source: str = "input") -> None:
    """Check that ``spikes`` lie in ``[0, input_value_limit(graph)]``.

    Raises:
        InputFormatError: naming ``source`` and the limit, if a value lies outside.
    """
    limit = input_value_limit(graph)
    if spikes.size and (spikes.min() < 0 or spikes.max() > limit):
        what = "spikes (0/1)" if limit == 1 else f"input currents of {graph.input.name!r}'s neurons"
        raise InputFormatError(
            f"{source}: field 'values' spans [{spikes.min()}, {spikes.max()}], outside [0, {limit}]: "
            f"this model takes {what}"
        )


def simulate_in_chunks(graph: Graph, batch: np.ndarray, simulator: str, memory_limit: int | None = None) -> Trace:
    """Run the simulator ``simulator`` on ``batch`` ``[B, T, n]`` within ``memory_limit`` bytes (None: the
    default of :func:`latdeploy.sim.budget.default_memory_limit`).

    Samples start from zero state, so the batch runs in chunks of the size
    :func:`latdeploy.sim.budget.plan_chunks` allows and the traces are joined along the
    sample axis (overflow counts added): the same trace as one call on the whole batch.

    Returns:
        The trace of every sample.

    Raises:
        ResourceError: if one sample, or the results alone, do not fit the limit.
    """
    samples, steps = batch.shape[:2]
    plan = plan_chunks(graph, samples, steps, simulator, memory_limit)
    simulate = SIMULATORS[simulator]
    if plan.chunk >= samples:
        return simulate(graph, batch)
    parts = [simulate(graph, batch[start : start + plan.chunk]) for start in range(0, samples, plan.chunk)]
    return join_traces(parts)


def run_file(
    model: str | os.PathLike[str],
    spikes: np.ndarray,
    backend: str,
    profile_name: str = DEFAULT_PROFILE,
    source: str = "input",
    memory_limit: int | None = None,
    dt: float | None = None,
    layout: str = "auto",
) -> RunResult:
    """Run the model file ``model`` on ``spikes`` (read from ``source``) with ``backend``.

    ``layout`` is the input's (:mod:`latdeploy.flows.input_layouts`: ``NT`` ring buffer, ``BT`` torch's
    ``(samples, steps, *shape)``, ``WHCT``/``CHWT`` lava-dl's one sample; ``"auto"`` detects it and refuses
    an ambiguous shape). ``dt`` is the time step of a NIR file that states none
    (:func:`~latdeploy.frontend.nir.read_nir`); a ``.net`` file without ``simulation/tSample`` runs for the
    input's steps. A float ``.onnx``/``.nir`` file run by the fixed-point simulator or a hardware
    backend is quantized for ``profile_name`` with ``spikes`` as its calibration data
    (``facts["quantized"]`` says so).

    A simulator runs within ``memory_limit`` bytes (None: a share of the available memory),
    in chunks of samples where the whole batch does not fit (:func:`simulate_in_chunks`).

    Returns:
        The :class:`RunResult`.

    Raises:
        LatdeployError: for an unknown backend, an unreadable model, a mismatching
            input, or a backend failure.
        ResourceError: if a simulator run cannot fit ``memory_limit`` (checked before it starts).
    """
    if backend not in run_backends():
        raise LatdeployError(f"unknown backend {backend!r}; supported: {run_backends()}")
    kind = detect_format(model)
    steps = None  # a .net file without simulation/tSample runs for the input's steps
    if kind == "netx" and spikes.ndim >= 2:
        steps = int(spikes.shape[1] if layout == "BT" else spikes.shape[-1])
    integer = backend != "float"
    if integer and kind in GRAPH_FILES:
        graph = read_graph_file(model, kind, dt=dt)
    else:
        graph = load_graph(model, integer=integer, profile_name=profile_name, dt=dt, timesteps=steps)
    batch, layout, others = to_batch(spikes, graph, layout, source)
    single = layout != "BT" and (layout != "NT" or spikes.ndim == 2)
    check_input_values(batch, graph, source)
    facts: dict[str, Any] = {"file": str(model), "format": kind, "layout": layout}
    if integer and not is_integer_graph(graph):
        graph = run_passes(graph, [QuantizeForProfile(load_profile(profile_name), batch)])
        facts["quantized"] = (
            f"{Path(model).name} holds a float graph: quantized for {profile_name} with this input "
            f"({len(batch)} sample(s)) as calibration data"
        )
    if others:
        facts["layout_also_fits"] = others
    if backend not in SIMULATORS:
        hardware = get_backend(backend).run(graph, batch)
        trace = hardware.trace
        sim_seconds = hardware.seconds if hardware.run_seconds is None else hardware.run_seconds
        facts.update(hardware_steps=hardware.hardware_steps, hardware_total_seconds=hardware.seconds)
        if hardware.timed_steps is not None:
            facts["hardware_timed_steps"] = hardware.timed_steps
    else:
        plan_chunks(graph, *batch.shape[:2], backend, memory_limit)  # refuses before compiling
        started = time.perf_counter()
        SIMULATORS[backend](graph, batch[:1, :1])  # compiles the kernels (numba) once, as Lava compiles before it runs
        facts["compile_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        trace = simulate_in_chunks(graph, batch, backend, memory_limit)
        sim_seconds = time.perf_counter() - started
        if trace.overflow:
            facts["overflow"] = trace.overflow
    return RunResult(graph, trace, backend, sim_seconds, single, facts, layout)


def run_input_file(
    model: str | os.PathLike[str],
    input_path: Path,
    backend: str,
    profile_name: str = DEFAULT_PROFILE,
    output: Path | None = None,
    all_layers: Path | None = None,
    force: bool = False,
    memory_limit: int | None = None,
    dt: float | None = None,
    layout: str = "auto",
) -> RunResult:
    """``latdeploy run``: run ``model`` on the ``.npy`` input ``input_path`` (:func:`load_input`,
    :func:`run_file` within ``memory_limit`` bytes) and write the outputs asked for (:func:`write_outputs`).

    The output paths are checked before anything runs
    (:func:`latdeploy.report.output_paths.check_file_output`: each a new file or a NumPy
    file of its kind; ``force``: any regular file that is not an input).

    Returns:
        The :class:`RunResult`.

    Raises:
        OutputPathError: if an output path may not be written or writing it fails.
        LatdeployError: as :func:`load_input` and :func:`run_file` do.
    """
    inputs = [Path(model), Path(input_path), Path(profile_name)]
    if output is not None:
        check_file_output(output, "npy", inputs, force, flag="-o")
    if all_layers is not None:
        check_file_output(all_layers, "npz", [*inputs, *([Path(output)] if output else [])], force, "--all-layers")
    result = run_file(model, load_input(input_path), backend, profile_name, str(input_path), memory_limit, dt, layout)
    write_outputs(result, output, all_layers)
    return result


NPY_HEADER_BYTES = 4096
"""An upper bound of the header and padding a ``.npy`` (or an ``.npz`` member) adds to its array."""


def write_outputs(result: RunResult, output: Path | None, all_layers: Path | None) -> None:
    """Write the output layer's spikes (``.npy``) and every layer's (``.npz``), each atomically,
    after checking that the file system has room for them.

    Raises:
        OutputPathError: if there is not enough free space, or writing fails.
    """
    if output is not None:
        spikes = result.to_ring_buffer(result.trace.output().spikes)
        check_free_space(output, spikes.nbytes + NPY_HEADER_BYTES)
        with atomic_file(output) as temporary, temporary.open("wb") as handle:
            np.save(handle, spikes)
    if all_layers is not None:
        arrays = {name: result.to_ring_buffer(layer.spikes) for name, layer in result.trace.layers.items()}
        check_free_space(all_layers, sum(array.nbytes + NPY_HEADER_BYTES for array in arrays.values()))
        with atomic_file(all_layers) as temporary, temporary.open("wb") as handle:
            np.savez(handle, **arrays)
