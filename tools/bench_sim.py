"""Benchmark of the fixed-point simulator against Lava ``fixed_pt``, measured side by side in one run.

(a) lava-dl's own N-TIDIGITS network (``ntidigits.net`` shipped in the lava-dl wheel:
    64 -> 256 -> 256 -> 242 dense CUBA LIF with axonal delays) on its recorded input:
    lava-dl's ``netx.hdf5.Network`` in Lava ``Loihi2SimCfg(select_tag="fixed_pt")``
    against ``read_netx`` + ``simulate_fixed``; every layer's spikes must be identical
    (exit code 3 otherwise), and over all 3000 steps the simulator must equal the
    output recorded beside the network.
(a2) A network of the same size without delays, seeded random weights and input,
    through latdeploy's own Lava backend (``run_lava``): every layer's spikes and the
    output layer's ``u``, ``v``, ``v_pre`` must be identical.

    Lava runs twice per network (a short and a long input) so that its steady-state
    rate ``(long - short) / (t_long - t_short)`` excludes its one-time start-up; the
    headline ratio is taken against that rate (the rate most favourable to Lava),
    and a second ratio compares whole calls.
(b) All 360 digits test samples through the fixed-point simulator (the shipped
    ``models/digits_mlp.pt``, quantized as ``latdeploy.flows.prepare.prepare_integer_graph`` does).
(c) VGG-11 (32x32x3) as integer graph (seeded weights, thresholds set for about
    10 % activity per layer), batch 64 x 4 steps of latency-encoded random images:
    time and peak memory, in a fresh process.

Every simulator time is wall time of a whole ``simulate_fixed`` call (weights as
Lava stores them, every kernel, the trace with spikes, ``v_pre``, ``u``, ``v`` and
overflow counts); nothing but Python imports is excluded. "first call" is the first
call in this process, so it also holds numba's loading (or compiling) of the
kernels. Warm calls on one graph reuse each Dense's weights as prepared on the first
(``latdeploy.sim.fixed_weights``, checked against the node by value on every call); the
"whole call" of (a) reads the ``.net`` file anew each time, so it prepares them each time. Usage::

    .venv/bin/python tools/bench_sim.py [--lava-steps 100,400] [--repeats 20] [--runs 3] [--skip-lava]

Part (a) runs ``--runs`` times (each with its own Lava runs); the run with the median
steady-state ratio is reported, with every run's ratio. Part (c) also measures the float32
GEMM bound of the same layers on the same inputs in the same process (:func:`gemm_bound`).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import latdeploy.sim.fixed_delay  # noqa: E402, F401  (registers the DelayDenseInt kernel)
from latdeploy.backends.lava import run_lava  # noqa: E402
from latdeploy.ir import DenseInt, Graph, LIFInt, SpikeInput  # noqa: E402
from latdeploy.sim.fixed import simulate_fixed  # noqa: E402
from latdeploy.sim.trace import Trace  # noqa: E402

NTIDIGITS_SIZES = (64, 256, 256, 242)
NTIDIGITS = ROOT / ".venv/lib/python3.10/site-packages/tests/lava/lib/dl/netx/gts/ntidigits"
EXIT_MISMATCH = 3


@dataclass
class Timing:
    """Wall times of one workload: the first call in the process and warm repeats."""

    first: float
    warm: list[float]

    @property
    def median(self) -> float:
        """Median warm time in seconds."""
        return statistics.median(self.warm)


def machine() -> dict[str, Any]:
    """Return a description of this machine and the software versions used."""
    from importlib.metadata import version

    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line]
        cpu = names[0] if names else cpu
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": version("numba"),
        "lava-nc": version("lava-nc"),
    }


def ntidigits_size_graph(steps: int, seed: int = 0) -> tuple[Graph, np.ndarray]:
    """An integer dense CUBA LIF chain of N-TIDIGITS size with seeded weights and input.

    Neuron parameters are those of lava-dl's ``ntidigits.net`` (``du = 1023``,
    ``dv = 1024``, ``vth = 80``, ``bias_exp = 6``); weights are even integers drawn
    from N(-4, 32) and clipped to [-256, 254]; the input is 64 channels, 2 % dense.

    Returns:
        ``(graph, spikes)`` with ``spikes`` ``[1, steps, 64]``.
    """
    rng = np.random.default_rng(seed)
    nodes: list = [SpikeInput("input", (), neurons=NTIDIGITS_SIZES[0])]
    previous = "input"
    for index, (fan_in, fan_out) in enumerate(zip(NTIDIGITS_SIZES[:-1], NTIDIGITS_SIZES[1:], strict=True), start=1):
        weight = np.clip(np.round(rng.normal(-4, 32, (fan_out, fan_in)) / 2) * 2, -256, 254).astype(np.int32)
        nodes.append(DenseInt(f"dense{index}", (previous,), weight=weight))
        nodes.append(
            LIFInt(f"lif{index}", (f"dense{index}",), du=1023, dv=1024, vth=80, bias_mant=np.zeros(fan_out, np.int32))
        )
        previous = f"lif{index}"
    spikes = (rng.random((1, steps, NTIDIGITS_SIZES[0])) < 0.02).astype(np.uint8)
    return Graph(tuple(nodes), {"timesteps": steps}), spikes


def time_simulator(graph: Graph, spikes: np.ndarray, repeats: int) -> tuple[Timing, Trace]:
    """Time ``simulate_fixed(graph, spikes)``: first call, then ``repeats`` warm calls.

    Returns:
        The :class:`Timing` and the trace of the last call.
    """
    started = time.perf_counter()
    trace = simulate_fixed(graph, spikes)
    first = time.perf_counter() - started
    warm = []
    for _ in range(repeats):
        started = time.perf_counter()
        trace = simulate_fixed(graph, spikes)
        warm.append(time.perf_counter() - started)
    return Timing(first, warm), trace


def assert_identical(fixed: Trace, lava: Trace, what: str) -> None:
    """Exit with code 3 unless every layer's spikes and the output state agree."""
    for name, layer in fixed.layers.items():
        if not np.array_equal(layer.spikes, lava.layers[name].spikes):
            print(f"MISMATCH ({what}): spikes of layer {name!r} differ between simulator and Lava")
            sys.exit(EXIT_MISMATCH)
    for key in ("u", "v", "v_pre"):
        if not np.array_equal(getattr(fixed.output(), key), getattr(lava.output(), key)):
            print(f"MISMATCH ({what}): output layer {key} differs between simulator and Lava")
            sys.exit(EXIT_MISMATCH)


def lava_rates(
    lava_wall: dict[int, float], short: int, long: int, sim_steps_per_s: float, sim_whole_s: float
) -> dict[str, float]:
    """Return Lava's steady-state and whole-call rates and their ratios to the simulator.

    The steady rate is ``(long - short)`` steps over the difference of the two runs' wall
    times, so Lava's start-up cancels out; ``sim_whole_s`` is the simulator's whole call.
    """
    steady = (long - short) / (lava_wall[long] - lava_wall[short])
    return {
        "lava_short_steps": short,
        "lava_short_s": lava_wall[short],
        "lava_long_s": lava_wall[long],
        "lava_steady_steps_per_s": steady,
        "lava_whole_steps_per_s": long / lava_wall[long],
        "ratio_steady": sim_steps_per_s / steady,
        "ratio_whole": lava_wall[long] / sim_whole_s,
    }


def bench_lava_ratio(short: int, long: int, repeats: int, skip_lava: bool) -> dict[str, Any]:
    """Part (a2): simulator vs ``run_lava`` on the delay-free N-TIDIGITS-size network; returns the measurements."""
    graph, spikes = ntidigits_size_graph(long)
    short_graph = graph.replace_nodes(list(graph.nodes), timesteps=short)
    short_spikes = spikes[:, :short]
    timing, trace = time_simulator(graph, spikes, repeats)
    result: dict[str, Any] = {
        "steps": long,
        "activity": {name: float(layer.spikes.mean()) for name, layer in trace.layers.items()},
        "sim_median_s": timing.median,
        "sim_min_s": min(timing.warm),
        "sim_steps_per_s": long / timing.median,
    }
    if skip_lava:
        return result
    lava_wall = {}
    for steps, run_graph, run_spikes in ((short, short_graph, short_spikes), (long, graph, spikes)):
        started = time.perf_counter()
        lava = run_lava(run_graph, run_spikes)
        lava_wall[steps] = time.perf_counter() - started
        assert_identical(simulate_fixed(run_graph, run_spikes), lava.trace, f"{steps} steps")
    result.update(lava_rates(lava_wall, short, long, result["sim_steps_per_s"], timing.median))
    return result


def run_netx_in_lava(path: Path, spikes: np.ndarray) -> tuple[list[np.ndarray], float]:
    """Run lava-dl's ``netx.hdf5.Network`` of ``path`` on ``spikes`` ``[n_in, steps]`` in Lava fixed_pt.

    Returns:
        ``(recordings, seconds)``: each dense block's output spikes ``[N, steps]`` in
        hardware time, and the wall time of building the network from the file,
        compiling, running, reading back and stopping.
    """
    from lava.lib.dl import netx
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    steps = spikes.shape[1]
    started = time.perf_counter()
    network = netx.hdf5.Network(net_config=str(path), num_layers=len(netx_layers(path)))
    source = Source(data=spikes)
    source.s_out.connect(network.inp)
    sinks = []
    for block in network.layers:
        sink = Sink(shape=block.out.shape, buffer=steps)
        block.out.connect(sink.a_in)
        sinks.append(sink)
    try:
        network.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        recordings = [sink.data.get() for sink in sinks]
    finally:
        network.stop()
    return recordings, time.perf_counter() - started


def netx_layers(path: Path) -> list[str]:
    """Return the layer types of a ``.net`` file up to (not including) its ``average`` read-out."""
    from latdeploy.frontend.netx import read_netx

    table = read_netx(path, timesteps=1).metadata["netx_layers"]
    return [layer["type"] for layer in table if layer["type"] != "average"]


def simulate_netx(path: Path, spikes: np.ndarray) -> Trace:
    """``read_netx`` + ``simulate_fixed`` on ``spikes`` ``[1, steps, n_in]``: what the simulator side times."""
    from latdeploy.frontend.netx import read_netx

    return simulate_fixed(read_netx(path, timesteps=spikes.shape[1]), spikes)


def bench_ntidigits(short: int, long: int, repeats: int, skip_lava: bool) -> dict[str, Any]:
    """Part (a): lava-dl's N-TIDIGITS network in Lava vs the simulator; returns the measurements."""
    from latdeploy.frontend.netx import read_netx

    path = NTIDIGITS / "ntidigits.net"
    recorded_input = np.load(NTIDIGITS / "input.npy")
    recorded_output = np.load(NTIDIGITS / "output.npy")
    full = recorded_input.T[None].astype(np.uint8)
    started = time.perf_counter()
    trace = simulate_netx(path, full)
    first = time.perf_counter() - started
    output = trace.output().spikes[0].T  # the recording is 4 steps late: 3 synapses + the recorder's own step
    if not np.array_equal(output[:, :-4], recorded_output[:, 4:]):
        print("MISMATCH: simulator output differs from the output recorded beside ntidigits.net")
        sys.exit(EXIT_MISMATCH)
    result: dict[str, Any] = {"recorded_steps": full.shape[1], "sim_first_s": first}
    graph = read_netx(path, timesteps=long)
    spikes = full[:, :long]
    timing, long_trace = time_simulator(graph, spikes, repeats)
    whole = [time.perf_counter()]
    for _ in range(repeats):
        simulate_netx(path, spikes)
        whole.append(time.perf_counter())
    full_timing, _ = time_simulator(read_netx(path), full, max(3, repeats // 4))
    result.update(
        steps=long,
        activity={name: float(layer.spikes.mean()) for name, layer in long_trace.layers.items()},
        sim_median_s=timing.median,
        sim_min_s=min(timing.warm),
        sim_with_import_median_s=statistics.median(np.diff(whole)),
        sim_steps_per_s=long / timing.median,
        sim_full_median_s=full_timing.median,
        sim_full_steps_per_s=full.shape[1] / full_timing.median,
    )
    if skip_lava:
        return result
    lava_wall = {}
    for steps in (short, long):
        recordings, lava_wall[steps] = run_netx_in_lava(path, recorded_input[:, :steps])
        run_trace = simulate_fixed(read_netx(path, timesteps=steps), full[:, :steps])
        for neuron, recording in zip(graph.neurons(), recordings, strict=True):
            lag = graph.lag(neuron.name)
            ours = run_trace.layers[neuron.name].spikes[0].T
            if not np.array_equal(ours[:, : steps - lag], recording[:, lag:]):
                print(f"MISMATCH ({steps} steps): spikes of layer {neuron.name!r} differ between simulator and Lava")
                sys.exit(EXIT_MISMATCH)
    result.update(lava_rates(lava_wall, short, long, result["sim_steps_per_s"], result["sim_with_import_median_s"]))
    return result


def bench_digits(repeats: int) -> dict[str, Any]:
    """Part (b): the 360 digits test samples through the simulator; returns the measurements."""
    from latdeploy.data import load_split
    from latdeploy.flows.prepare import encode, prepare_integer_graph
    from latdeploy.hw.profile import DEFAULT_PROFILE, load_profile
    from latdeploy.nn.checkpoint import load
    from latdeploy.nn.decoders import first_spike_decision

    model, metadata = load(ROOT / "models" / "digits_mlp.pt")
    int_graph = prepare_integer_graph(model, metadata, load_profile(DEFAULT_PROFILE)).int_graph
    test = load_split(metadata["dataset"], "test")
    spikes = encode(model, test.x)
    timing, trace = time_simulator(int_graph, spikes, repeats)
    decision = first_spike_decision(trace.output().spikes, trace.output().v_pre)
    return {
        "samples": int(spikes.shape[0]),
        "timesteps": int(spikes.shape[1]),
        "sim_first_s": timing.first,
        "sim_median_s": timing.median,
        "accuracy": float((decision.label == test.y).mean()),
    }


VGG11_LAYERS = (  # (out channels, kernel, stride, padding): VGG-11 as latdeploy's quantizer emits it,
    (64, 3, 1, 1),  # each 2x2 average pool folded into the next convolution (6x6, stride 2)
    (128, 6, 2, 2),
    (256, 6, 2, 2),
    (256, 3, 1, 1),
    (512, 6, 2, 2),
    (512, 3, 1, 1),
    (512, 6, 2, 2),
    (512, 3, 1, 1),
)
VGG_FIRING = 0.9  # thresholds put 10 % of each layer's neurons above threshold on calibration samples


def vgg11_int_graph(spikes: np.ndarray, seed: int = 0) -> Graph:
    """An integer VGG-11 for 32x32x3 (8 convolutions, the pools folded in, a 512 -> 10 Dense), seeded weights.

    Weights are uniform on Lava's mixed-sign 8-bit grid; each layer is integrate-and-fire
    (``du = 4095``, ``dv = 0``) with ``vth`` set on ``spikes`` (a few samples) so that
    about 10 % of its neurons reach threshold: a layer-by-layer activity like a trained
    network's, not silence.
    """
    from latdeploy.ir.conv import Conv2dInt
    from latdeploy.sim.fixed import FIXED_KERNELS

    rng = np.random.default_rng(seed)
    nodes: list = [SpikeInput("input", (), neurons=3 * 32 * 32)]
    shape, values = (3, 32, 32), spikes
    for index, (channels, kernel, stride, padding) in enumerate(VGG11_LAYERS, start=1):
        weight = 2 * rng.integers(-127, 128, (channels, shape[0], kernel, kernel))
        synapse = Conv2dInt(
            f"conv{index}",
            (nodes[-1].name,),
            weight=weight,
            in_channels=shape[0],
            in_height=shape[1],
            in_width=shape[2],
            stride_h=stride,
            stride_w=stride,
            padding_h=padding,
            padding_w=padding,
        )
        values = _calibrated_neuron(nodes, synapse, values, FIXED_KERNELS)
        shape = synapse.out_shape
    dense = DenseInt("fc", (nodes[-1].name,), weight=2 * rng.integers(-127, 128, (10, int(np.prod(shape)))))
    _calibrated_neuron(nodes, dense, values, FIXED_KERNELS)
    return Graph(tuple(nodes), {"timesteps": spikes.shape[1]})


def _calibrated_neuron(nodes: list, synapse: Any, spikes: np.ndarray, kernels: Any) -> np.ndarray:
    current = kernels.get(type(synapse))(synapse, spikes).astype(np.int64)
    reach = (np.cumsum(current, axis=1).max(axis=1)) << 6
    vth = int(np.clip(np.quantile(reach, VGG_FIRING) // 64, 1, (1 << 17) - 1))
    bias = np.zeros(synapse.size, np.int32)
    neuron = LIFInt(f"{synapse.name}_lif", (synapse.name,), du=4095, dv=0, vth=vth, bias_mant=bias)
    nodes.extend([synapse, neuron])
    return kernels.get(LIFInt)(neuron, current.astype(np.int32))[0].spikes


def latency_images(samples: int, steps: int, seed: int = 1) -> np.ndarray:
    """Latency-encoded random 32x32x3 images (``latdeploy.nn.LatencyEncoder``): ``[samples, steps, 3072]`` uint8."""
    import torch

    from latdeploy.nn.encoders import LatencyEncoder

    images = torch.from_numpy(np.random.default_rng(seed).random((samples, 3 * 32 * 32)).astype(np.float32))
    return LatencyEncoder(steps)(images).permute(1, 0, 2).numpy().astype(np.uint8)


def bench_vgg(batch: int, steps: int) -> dict[str, Any]:
    """Part (c): VGG-11 on 32x32x3, ``batch`` x ``steps``, in this process: time and peak memory.

    Peak memory is the growth of the process's peak resident set size during the
    ``simulate_fixed`` call (run it in a fresh process: ``--vgg-only``).
    """
    import resource

    spikes = latency_images(batch, steps)
    graph = vgg11_int_graph(spikes[:4])
    simulate_fixed(graph, spikes[:1])  # loads the compiled kernels: not part of the measurement
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu = time.perf_counter(), time.process_time()
    trace = simulate_fixed(graph, spikes)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    trace_bytes = sum(
        sum(array.nbytes for array in (layer.spikes, layer.v_pre, layer.u, layer.v)) for layer in trace.layers.values()
    )
    gemm = gemm_bound(graph, trace, spikes)
    return {
        "gemm_bound_s": gemm,
        "measurable": True,
        "batch": batch,
        "steps": steps,
        "neurons": sum(node.size for node in graph.neurons()),
        "activity": {name: float(layer.spikes.mean()) for name, layer in trace.layers.items()},
        "sim_s": seconds,
        "sim_cpu_s": cpu,
        "peak_mib": (peak - before) / 1024,
        "trace_mib": trace_bytes / 2**20,
    }


def gemm_bound(graph: Graph, trace: Trace, spikes: np.ndarray, repeats: int = 3) -> float:
    """The float32 GEMM bound of ``graph``'s synapses on ``rows`` = batch x steps inputs: each Conv2dInt /
    DenseInt run as torch's float32 ``conv2d`` / ``linear`` (oneDNN/BLAS GEMMs, all cores) on that
    layer's real input (``spikes`` ``[B, T, n_in]`` for the first, the source layer's spikes from
    ``trace`` for the others); the median of ``repeats`` warm calls per layer, summed.

    Returns:
        Seconds: what dense float32 arithmetic needs for the same multiply-adds, with no integer
        casts, wraps or neuron updates.
    """
    import torch
    import torch.nn.functional as functional

    from latdeploy.ir.conv import Conv2dInt

    rows = spikes.shape[0] * spikes.shape[1]
    total = 0.0
    for node in graph.nodes:
        if not isinstance(node, (Conv2dInt, DenseInt)):
            continue
        source = node.inputs[0]
        values = trace.layers[source].spikes if source in trace.layers else spikes  # else: the network's input
        values = values.reshape(rows, -1)
        inputs = torch.from_numpy(values.astype(np.float32))
        weight = torch.from_numpy(node.weight.astype(np.float32))
        if isinstance(node, Conv2dInt):
            inputs = inputs.reshape(rows, node.in_channels, node.in_height, node.in_width)

            def run(inputs=inputs, weight=weight, node=node):
                return functional.conv2d(
                    inputs,
                    weight,
                    stride=(node.stride_h, node.stride_w),
                    padding=(node.padding_h, node.padding_w),
                    groups=node.groups,
                )
        else:

            def run(inputs=inputs, weight=weight):
                return functional.linear(inputs, weight)

        with torch.no_grad():
            run()
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                run()
                times.append(time.perf_counter() - started)
        total += statistics.median(times)
    return total


def bench_vgg_subprocess(batch: int, steps: int) -> dict[str, Any]:
    """Run :func:`bench_vgg` in a fresh process (so that its peak memory is its own); returns its result."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "vgg.json"
        subprocess.run([sys.executable, __file__, "--vgg-only", "--json", str(out)], check=True)
        return json.loads(out.read_text())["vgg"]


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the run of part (a) with the median steady-state ratio, with every run's ratio in ``ratios_steady``."""
    if "ratio_steady" not in runs[0]:
        return runs[0]
    ordered = sorted(runs, key=lambda run: run["ratio_steady"])
    return {**ordered[(len(ordered) - 1) // 2], "ratios_steady": [run["ratio_steady"] for run in runs]}


def _print_lava_comparison(result: dict[str, Any], simulator_side: str) -> None:
    print(
        f"    simulator, warm ({simulator_side}; median of repeats, min {result['sim_min_s'] * 1e3:.1f} ms): "
        f"{result['sim_median_s'] * 1e3:.1f} ms = {result['sim_steps_per_s']:,.0f} steps/s"
    )
    if "lava_long_s" not in result:
        return
    print(
        f"    Lava fixed_pt, whole call: {result['lava_short_steps']} steps {result['lava_short_s']:.1f} s, "
        f"{result['steps']} steps {result['lava_long_s']:.1f} s"
    )
    print(
        f"    Lava steady state ({result['steps'] - result['lava_short_steps']} steps / time difference): "
        f"{result['lava_steady_steps_per_s']:.1f} steps/s; whole {result['steps']}-step call: "
        f"{result['lava_whole_steps_per_s']:.1f} steps/s"
    )
    print("    spikes identical to Lava in every layer at both lengths: yes")
    print(f"    RATIO simulator (warm) / Lava steady state, steps/s: {result['ratio_steady']:,.0f}x")


def _print_report(info: dict[str, Any], results: dict[str, dict[str, Any]]) -> None:
    print(f"machine: {info['cpu']}; load average {info['load_average'][0]:.2f} (shared machine)")
    print(
        f"date {info['date']}; python {info['python']}, numpy {info['numpy']}, numba {info['numba']}, "
        f"lava-nc {info['lava-nc']}"
    )
    print("simulator times: whole simulate_fixed calls (Lava weights, all kernels, full traces); Lava times:")
    print("whole calls (build processes, compile, run, read back, stop); only Python imports excluded")
    ntidigits = results["ntidigits"]
    print()
    print("(a) lava-dl N-TIDIGITS ntidigits.net, 64-256-256-242 dense CUBA LIF + axonal delays, recorded input")
    print(
        f"    simulator, first call in process (read_netx + simulate_fixed, {ntidigits['recorded_steps']} steps, "
        f"incl. numba kernel load): {ntidigits['sim_first_s'] * 1e3:.1f} ms; output = lava-dl's recording: yes"
    )
    print(
        f"    simulator, warm, all {ntidigits['recorded_steps']} steps: {ntidigits['sim_full_median_s'] * 1e3:.1f} ms"
        f" = {ntidigits['sim_full_steps_per_s']:,.0f} steps/s"
    )
    activity = ", ".join(f"{name} {rate:.1%}" for name, rate in ntidigits["activity"].items())
    print(f"    {ntidigits['steps']} steps; spike rates: {activity}")
    _print_lava_comparison(ntidigits, "simulate_fixed")
    if "ratios_steady" in ntidigits:
        each = ", ".join(f"{ratio:,.0f}x" for ratio in ntidigits["ratios_steady"])
        count = len(ntidigits["ratios_steady"])
        print(f"    steady-state ratio of each of {count} runs: {each} (median above; goal >= 3,000x)")
    if "ratio_whole" in ntidigits:
        print(
            f"    RATIO whole calls (netx.hdf5.Network in Lava / read_netx + simulate_fixed, "
            f"{ntidigits['sim_with_import_median_s'] * 1e3:.1f} ms): {ntidigits['ratio_whole']:,.0f}x"
        )
    synthetic = results["synthetic"]
    print()
    print(f"(a2) same size, no delays, seeded random weights and 2 % input, {synthetic['steps']} steps, run_lava")
    activity = ", ".join(f"{name} {rate:.1%}" for name, rate in synthetic["activity"].items())
    print(f"    spike rates: {activity}")
    _print_lava_comparison(synthetic, "simulate_fixed")
    if "ratio_whole" in synthetic:
        print(f"    RATIO whole calls (run_lava / simulate_fixed): {synthetic['ratio_whole']:,.0f}x")
    digits = results["digits"]
    print()
    print(f"(b) digits test set, {digits['samples']} samples x {digits['timesteps']} steps, 64-128-10")
    print(f"    simulator first call: {digits['sim_first_s'] * 1e3:.1f} ms")
    print(f"    simulator warm (median): {digits['sim_median_s'] * 1e3:.1f} ms; accuracy {digits['accuracy']:.2%}")
    vgg = results["vgg"]
    print()
    activity = ", ".join(f"{rate:.1%}" for rate in vgg["activity"].values())
    print(f"(c) VGG-11 32x32x3 (integer, seeded weights), batch {vgg['batch']} x {vgg['steps']} steps")
    print(f"    {vgg['neurons']:,} neurons; spike rates per layer: {activity}")
    print(
        f"    simulator: {vgg['sim_s']:.2f} s wall, {vgg['sim_cpu_s']:.2f} s CPU (all threads; fresh process, "
        f"kernels loaded); peak memory: RSS growth "
        f"{vgg['peak_mib']:.0f} MiB, of which the returned trace (spikes, v_pre, u, v) {vgg['trace_mib']:.0f} MiB"
    )
    print(
        f"    float32 GEMM bound (torch conv2d/linear on the same inputs, same run): {vgg['gemm_bound_s']:.2f} s; "
        f"RATIO simulator / bound: {vgg['sim_s'] / vgg['gemm_bound_s']:.2f} (goal <= 2)"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its report; returns the exit code (3 on a spike mismatch)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lava-steps", default="100,400", help="short,long step counts of the two Lava runs")
    parser.add_argument("--repeats", type=int, default=20, help="warm simulator calls per workload")
    parser.add_argument("--skip-lava", action="store_true", help="time the simulator only")
    parser.add_argument("--json", type=Path, help="also write the measurements to this JSON file")
    parser.add_argument("--vgg-only", action="store_true", help="run part (c) only, writing it to --json")
    parser.add_argument("--runs", type=int, default=3, help="runs of part (a), each with its own Lava runs (median)")
    args = parser.parse_args(argv)
    short, long = (int(value) for value in args.lava_steps.split(","))
    if not 0 < short < long:
        parser.error("--lava-steps needs 0 < short < long")
    if args.vgg_only:
        args.json.write_text(json.dumps({"vgg": bench_vgg(64, 4)}) + "\n")
        return 0
    info = machine()
    runs = [bench_ntidigits(short, long, args.repeats, args.skip_lava) for _ in range(max(1, args.runs))]
    results = {
        "ntidigits": _median_run(runs),
        "synthetic": bench_lava_ratio(short, long, args.repeats, args.skip_lava),
        "digits": bench_digits(args.repeats),
        "vgg": bench_vgg_subprocess(64, 4),
    }
    _print_report(info, results)
    if args.json:
        args.json.write_text(json.dumps({"machine": info, **results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
