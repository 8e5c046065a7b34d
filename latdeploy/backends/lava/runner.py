"""Build the integer graph from real lava-nc processes and run it on Loihi2SimCfg(fixed_pt).

Network: a ``RingBuffer`` spike source, then one or more Lava processes per node,
built by the node's registered builder (``DenseInt`` -> ``Dense``, ``LIFInt`` ->
``LIFReset``, ...). Every neuron process records its own payloads every step, and the output
layer's its ``u`` and ``v`` too (:mod:`latdeploy.backends.lava.processes.recording`: the kind's
Process and ProcessModel, subclassed), and hands the whole recording to the host in one message
at the end of the run (Lava's ``Var.get`` would send it one element per message; a separate
recorder process would add a synchronisation round to every step).

Many samples share one run, so Lava's start-up is paid once: sample ``s`` feeds
the source during steps ``s*P .. s*P + T - 1`` with the period ``P = T + D`` (``D``:
the graph's longest axonal delay, :meth:`Graph.max_delay`; zeros fill the gap, so
no delayed spike reaches the next sample). A layer with lag ``k`` sees that sample
``k`` steps later, so it resets ``u`` and ``v`` every ``P`` steps at phase ``k``
(``LIFReset(reset_interval=P, reset_offset=k + 1)``, Lava counting steps from 1):
every layer starts each sample from zero state, as the fixed-point simulator does,
and the run lasts ``n*P + L`` steps for lag ``L`` of the deepest layer.

Each node is built by its registered builder (:mod:`latdeploy.backends.lava.builders`; the
package's plugin module :mod:`latdeploy.backends.lava.plugins` imports the modules that register
one); the run configuration maps every neuron kind's Process to the ProcessModel the kind
declares.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import numpy as np

from latdeploy.backends.lava import plugins  # noqa: F401  (registers the conv, delay and recurrent builders)
from latdeploy.backends.lava.builders import BuildContext, LavaNode, lava_builder, process_models
from latdeploy.backends.lava.session import lava_session
from latdeploy.errors import BackendError
from latdeploy.ir import Graph, SpikeInput
from latdeploy.ir.neurons_ext import message_bits
from latdeploy.neurons.base import import_object
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.sim.trace import LayerTrace, Trace

WINDOW_GATE = "latdeploy.backends.lava.processes.window_gate"


@dataclass
class LavaRun:
    """A finished Lava run.

    ``trace`` is in algorithmic time (aligned by each layer's lag); ``hardware``
    holds each layer's raw recording (its payloads) ``[N, steps]`` in hardware time;
    ``seconds`` is the wall time of ``run`` (compile + simulate + read back);
    ``run_seconds`` the simulation alone: the first step runs with compilation and
    process start-up, then ``RunSteps`` of the remaining ``hardware_steps - 1`` steps
    on the started runtime is timed (``None`` for a one-step run).
    """

    trace: Trace
    hardware: dict[str, np.ndarray]
    hardware_steps: int
    seconds: float
    run_seconds: float | None = None


def lava_versions() -> dict[str, str]:
    """Return the installed lava-nc version (``{}`` when Lava is not importable)."""
    try:
        return {"lava-nc": version("lava-nc")}
    except Exception:  # not installed
        return {}


def _import_lava():
    try:
        from lava.magma.core.run_conditions import RunSteps
        from lava.magma.core.run_configs import Loihi2SimCfg
        from lava.proc.io.source import RingBuffer as Source
    except Exception as error:  # ImportError, or lava's own failure on Python >= 3.11
        raise BackendError(
            f"lava-nc cannot be imported ({type(error).__name__}: {error}); the loihi2-sim target needs "
            "lava-nc 0.10.0 on Python 3.10: run 'bash tools/setup_env.sh' and use .venv/bin/latdeploy"
        ) from error
    return RunSteps, Loihi2SimCfg, Source


STOCK_MODELS: dict[str, str] = {
    "lava.proc.dense.process:Dense": "lava.proc.dense.models:PyDenseModelBitAcc",
    "lava.proc.dense.process:DelayDense": "lava.proc.dense.models:PyDelayDenseModelBitAcc",
    "lava.proc.conv.process:Conv": "lava.proc.conv.models:PyConvModelFixed",
    "lava.proc.io.source:RingBuffer": "lava.proc.io.source:PySendModelFixed",
    f"{WINDOW_GATE}:WindowGate": f"{WINDOW_GATE}_models:PyWindowGateModel",
}
"""``"module:Process"`` -> ``"module:ProcessModel"`` of Lava's stock synapses the builders use and of
the processes the runner adds around the graph (the spike source, the window gates): the models
Lava's compiler selects for them under ``Loihi2SimCfg(select_tag="fixed_pt")``
(``tests/backends/lava/test_runner.py`` asks Lava's own search and selection and requires the same).
Imported only for the processes a network has (``lava.proc.conv`` imports scipy)."""


def stock_process_models() -> dict[Any, Any]:
    """Return :data:`STOCK_MODELS` as ``{Process class: ProcessModel class}`` (all imported)."""
    return {import_object(process): import_object(model) for process, model in STOCK_MODELS.items()}


def _known_models(source: Any, kinds: list[Any]) -> dict[Any, Any]:
    """Return the run configuration's ``exception_proc_model_map``: the models of the neuron
    ``kinds`` (:func:`latdeploy.backends.lava.builders.process_models`) by Process class, and for every
    process of the network around ``source`` its model by instance (a kind's, or :data:`STOCK_MODELS`'),
    and the stock ones by class too. Lava's ``Loihi2SimCfg.select`` looks the map up by class, but its
    compiler looks it up by instance first and otherwise searches for the models of each process
    instance, re-executing every module in the directory of its Process (~0.05 s per process,
    modelled classes included); processes of other classes (a plugin's) are still searched."""
    from lava.magma.compiler.compiler_graphs import find_processes

    by_class = process_models(kinds)
    processes = find_processes(source)
    for process in processes:
        model = STOCK_MODELS.get(f"{type(process).__module__}:{type(process).__qualname__}")
        if type(process) not in by_class and model is not None:
            by_class[type(process)] = import_object(model)
    by_instance = {process: by_class[type(process)] for process in processes if type(process) in by_class}
    return {**by_class, **by_instance}


def _align(recording: np.ndarray, lag: int, samples: int, timesteps: int, period: int) -> np.ndarray:
    """Cut ``[N, steps]`` hardware data into ``[samples, T, N]`` algorithmic time."""
    window = recording[:, lag : lag + samples * period].reshape(recording.shape[0], samples, period)
    return window[:, :, :timesteps].transpose(1, 2, 0)


def run_lava(graph: Graph, input_spikes: np.ndarray, timeout: float | None = None) -> LavaRun:
    """Run the integer ``graph`` on ``input_spikes`` ``[B, T, n_in]`` in Lava.

    The run is always stopped and leaves no process behind, also on errors, Ctrl-C
    and SIGTERM (:func:`latdeploy.backends.lava.session.lava_session`); ``timeout``
    limits its wall-clock seconds (compilation included).

    Returns:
        A :class:`LavaRun`; its trace holds each layer's spikes and, for the output
        layer, ``u``, ``v`` and ``v_pre`` (``v`` before reset, rebuilt from Lava's
        ``u`` and previous ``v`` by the builder's rebuilder, since Lava resets ``v`` in
        the same step it fires).

    Raises:
        BackendError: if Lava is not importable, a node has no Lava builder, or the run fails.
        LavaTimeoutError: (a BackendError) if the run takes longer than ``timeout`` seconds.
    """
    RunSteps, Loihi2SimCfg, Source = _import_lava()
    input_spikes = np.asarray(input_spikes)
    samples, timesteps = input_spikes.shape[:2]
    input_spikes = input_spikes.reshape(samples, timesteps, -1)
    fan_in = input_spikes.shape[2]
    neurons = graph.neurons()
    if not neurons:
        raise BackendError("the graph has no neuron layer to run on Lava")
    builders = {node.name: lava_builder(node) for node in graph.nodes if not isinstance(node, SpikeInput)}
    kinds = [kind for kind in (NEURON_KINDS.of_node(type(node)) for node in neurons) if kind is not None]
    period = timesteps + graph.max_delay()
    depth = max(graph.lag(n.name) for n in neurons)
    steps = samples * period + depth
    stream = np.zeros((fan_in, samples, period), np.int32)
    stream[:, :, :timesteps] = input_spikes.transpose(2, 0, 1)
    stream = np.concatenate([stream.reshape(fan_in, -1), np.zeros((fan_in, depth), np.int32)], axis=1)

    from latdeploy.backends.lava.processes.window_gate import WindowGate

    # neurons feeding an axonal delay: gated to their sample windows (WindowGate's docstring)
    delayed = {name for node in graph.nodes if node.algorithmic_delay() > 0 for name in node.inputs}
    source = Source(data=stream)
    built: dict[str, LavaNode] = {}
    payload_bits: dict[str, int] = {}  # num_message_bits of each node's output (delays pass theirs on)
    recorded, lags = {}, {}
    for node in graph.nodes:
        if isinstance(node, SpikeInput):
            built[node.name] = LavaNode(out_port=source.s_out)
            # graded input (STC event counts): Lava's Dense/Conv binarize payloads unless num_message_bits > 0
            peak = int(input_spikes.max(initial=0))
            payload_bits[node.name] = peak.bit_length() if peak > 1 else 0
            continue
        lag = graph.lag(node.name)
        bits = max((payload_bits[name] for name in node.inputs), default=0)
        payload_bits[node.name] = bits if node.kind == "delay" else message_bits(node)
        context = BuildContext(
            reset_interval=period,
            reset_offset=lag + 1,
            lag=lag,
            steps=steps,
            message_bits=bits,
            timesteps=timesteps,
            record_state=node.name == neurons[-1].name,  # the output layer: payloads, u and v
        )
        built[node.name] = builders[node.name](node, [built[name].out_port for name in node.inputs], context)
        if node.kind == "neuron":
            recorded[node.name], lags[node.name] = built[node.name].process, lag
            if node.name in delayed:  # its spikes outside the windows would land in a window behind the delay
                gate = WindowGate(
                    shape=(node.size,), lag=lag, period=period, timesteps=timesteps, name=f"{node.name}_gate"
                )
                built[node.name].out_port.connect(gate.s_in)
                built[node.name] = LavaNode(
                    out_port=gate.s_out, process=built[node.name].process, v_pre=built[node.name].v_pre
                )
    output = built[neurons[-1].name]

    started = time.perf_counter()
    with lava_session(source, timeout) as run:
        try:
            run_cfg = Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map=_known_models(source, kinds))
            run(condition=RunSteps(num_steps=1), run_cfg=run_cfg)  # compiles
            run_seconds = None
            if steps > 1:
                run_started = time.perf_counter()
                run(condition=RunSteps(num_steps=steps - 1))
                run_seconds = time.perf_counter() - run_started
            records = {name: process.receive().astype(np.int64) for name, process in recorded.items()}
            hardware = {name: record[0] for name, record in records.items()}
            _, u_raw, v_raw = records[neurons[-1].name]
        except BackendError:
            raise
        except Exception as error:
            raise BackendError(f"Lava run failed: {type(error).__name__}: {error}") from error
    seconds = time.perf_counter() - started

    traces = {}
    for name, recording in hardware.items():
        traces[name] = LayerTrace(
            spikes=_align(recording, lags[name], samples, timesteps, period).astype(np.uint8), v_pre=np.zeros(0)
        )
    output_name = neurons[-1].name
    lag = lags[output_name]
    u = _align(u_raw, lag, samples, timesteps, period).astype(np.int32)
    v = _align(v_raw, lag, samples, timesteps, period).astype(np.int32)
    traces[output_name].u, traces[output_name].v = u, v
    if output.v_pre is not None:
        traces[output_name].v_pre = output.v_pre(u, v)
    return LavaRun(
        trace=Trace(layers=traces), hardware=hardware, hardware_steps=steps, seconds=seconds, run_seconds=run_seconds
    )
