"""Build the integer graph from real lava-nc processes and run it on Loihi2SimCfg(fixed_pt).

Network: a ``RingBuffer`` spike source, then one or more Lava processes per node,
built by the node's registered builder (``DenseInt`` -> ``Dense``, ``LIFInt`` ->
``LIFReset``, ...), and a ``RingBuffer`` sink on every neuron layer; the output
layer's ``u`` and ``v`` are also read every step (``Read``).

Many samples share one run, so Lava's start-up is paid once: sample ``s`` feeds
the source during steps ``s*P .. s*P + T - 1`` with the period ``P = T + D`` (``D``:
the graph's longest axonal delay, :meth:`Graph.max_delay`; zeros fill the gap, so
no delayed spike reaches the next sample). A layer with lag ``k`` sees that sample
``k`` steps later, so it resets ``u`` and ``v`` every ``P`` steps at phase ``k``
(``LIFReset(reset_interval=P, reset_offset=k + 1)``, Lava counting steps from 1):
every layer starts each sample from zero state, as the fixed-point simulator does,
and the run lasts ``n*P + L`` steps for lag ``L`` of the deepest layer.

Registry contract: :func:`register_lava_builder` maps an integer node type to
``builder(node, inputs, context) -> LavaNode``; ``inputs`` holds one Lava out port
per name in ``node.inputs``, each flat (``(size,)``, neurons in the IR's C order,
``(C, H, W)`` flattened), and the builder returns the flat out port of its node
(adapting shapes with Lava's virtual ports, e.g. ``reshape``/``transpose`` for
``Conv``'s ``(X, Y, C)`` layout). A neuron builder must reset its state every
``context.reset_interval`` steps at ``context.reset_offset`` and return its
process (with ``u`` and ``v`` Vars) and a ``v_pre(u, v)`` rebuilder
(``[B, T, N]`` int32 each) for the output layer. Builders import Lava themselves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from latdeploy.backends.lava.session import lava_session
from latdeploy.errors import BackendError
from latdeploy.ir import DenseInt, Graph, LIFInt, Node, SpikeInput
from latdeploy.ir.neurons_ext import message_bits
from latdeploy.sim.trace import LayerTrace, Trace


@dataclass
class LavaRun:
    """A finished Lava run.

    ``trace`` is in algorithmic time (aligned by each layer's lag); ``hardware``
    holds each layer's raw sink recording ``[N, steps]`` in hardware time;
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


@dataclass(frozen=True)
class BuildContext:
    """What a builder needs beyond its node: the sample period (reset interval), the
    node's reset phase (``lag + 1``, Lava counts steps from 1), its lag, the run length
    and ``message_bits``, the ``num_message_bits`` its inputs need (0: binary spikes;
    else the bits of the largest graded payload, :func:`latdeploy.ir.neurons_ext.message_bits`)."""

    reset_interval: int
    reset_offset: int
    lag: int
    steps: int
    message_bits: int = 0


@dataclass
class LavaNode:
    """What a builder made: the flat out port downstream nodes connect to; for a neuron,
    the process holding ``u``/``v`` and the ``v_pre(u, v)`` rebuilder."""

    out_port: Any
    process: Any = None
    v_pre: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None


LavaBuilder = Callable[[Node, list[Any], BuildContext], LavaNode]
LAVA_BUILDERS: dict[type[Node], LavaBuilder] = {}


def register_lava_builder(node_type: type[Node]) -> Callable[[LavaBuilder], LavaBuilder]:
    """Decorator: register ``builder`` as the Lava builder of ``node_type``; returns the builder."""

    def decorate(builder: LavaBuilder) -> LavaBuilder:
        LAVA_BUILDERS[node_type] = builder
        return builder

    return decorate


def lava_versions() -> dict[str, str]:
    """Return the installed lava-nc version (``{}`` when Lava is not importable)."""
    try:
        from importlib.metadata import version

        return {"lava-nc": version("lava-nc")}
    except Exception:  # not installed
        return {}


def _import_lava():
    try:
        from lava.magma.core.run_conditions import RunSteps
        from lava.magma.core.run_configs import Loihi2SimCfg
        from lava.proc.io.sink import Read
        from lava.proc.io.sink import RingBuffer as Sink
        from lava.proc.io.source import RingBuffer as Source
    except Exception as error:  # ImportError, or lava's own failure on Python >= 3.11
        raise BackendError(
            f"lava-nc cannot be imported ({type(error).__name__}: {error}); the loihi2-sim target needs "
            "lava-nc 0.10.0 on Python 3.10: run 'bash tools/setup_env.sh' and use .venv/bin/latdeploy"
        ) from error
    return RunSteps, Loihi2SimCfg, Read, Sink, Source


def connect_process(
    process_type: Any, node: Node, inputs: list[Any], in_port: str, fields: tuple[str, ...], **params: Any
) -> Any:
    """Return ``process_type(name=node.name, **params)`` with the node's attributes named in ``fields``
    passed on under the same names, fed by ``inputs[0]`` at its port ``in_port``."""
    process = process_type(name=node.name, **{field: getattr(node, field) for field in fields}, **params)
    inputs[0].connect(getattr(process, in_port))
    return process


def build_dense_process(
    process_type: Any, node: Node, inputs: list[Any], context: BuildContext, **params: Any
) -> LavaNode:
    """Return a Lava ``Dense``-like ``process_type`` (weights, ``weight_exp``, ``num_weight_bits``, the
    context's ``num_message_bits``, extra ``params``) fed by ``inputs[0]`` at ``s_in``, out at ``a_out``."""
    weights = node.weight.astype(np.int32)
    fields = ("weight_exp", "num_weight_bits")
    dense = connect_process(
        process_type, node, inputs, "s_in", fields, weights=weights, num_message_bits=context.message_bits, **params
    )
    return LavaNode(out_port=dense.a_out)


def build_neuron_process(process_type: Any, node: Node, inputs: list[Any], context: BuildContext, **params: Any) -> Any:
    """Return a flat (``shape=(N,)``) neuron ``process_type`` with the node's ``du``, ``dv``, ``vth``
    and bias, resetting at the context's phase (extra ``params`` passed on), fed by ``inputs[0]`` at ``a_in``."""
    reset = {"reset_interval": context.reset_interval, "reset_offset": context.reset_offset}
    bias_mant = node.bias_mant.astype(np.int32)
    fields = ("du", "dv", "vth", "bias_exp")
    return connect_process(
        process_type, node, inputs, "a_in", fields, shape=(node.size,), bias_mant=bias_mant, **reset, **params
    )


@register_lava_builder(DenseInt)
def build_dense(node: DenseInt, inputs: list[Any], context: BuildContext) -> LavaNode:
    """Return Lava's ``Dense`` (weights, ``weight_exp``, ``num_weight_bits``) fed by ``inputs[0]``."""
    from lava.proc.dense.process import Dense

    return build_dense_process(Dense, node, inputs, context)


@register_lava_builder(LIFInt)
def build_lif(node: LIFInt, inputs: list[Any], context: BuildContext) -> LavaNode:
    """Return Lava's ``LIFReset`` (flat, ``shape=(N,)``) resetting at the context's phase."""
    from lava.proc.lif.process import LIFReset

    lif = build_neuron_process(LIFReset, node, inputs, context)
    return LavaNode(out_port=lif.s_out, process=lif, v_pre=lambda u, v: membrane_before_reset(node, u, v))


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
    RunSteps, Loihi2SimCfg, Read, Sink, Source = _import_lava()
    input_spikes = np.asarray(input_spikes)
    samples, timesteps = input_spikes.shape[:2]
    input_spikes = input_spikes.reshape(samples, timesteps, -1)
    fan_in = input_spikes.shape[2]
    neurons = graph.neurons()
    if not neurons:
        raise BackendError("the graph has no neuron layer to run on Lava")
    for node in graph.nodes:
        if not isinstance(node, SpikeInput) and type(node) not in LAVA_BUILDERS:
            raise BackendError(
                f"node {node.name!r}: {type(node).__name__} has no Lava builder; "
                f"supported: {sorted(t.__name__ for t in LAVA_BUILDERS)}"
            )
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
    sinks, lags = {}, {}
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
        context = BuildContext(reset_interval=period, reset_offset=lag + 1, lag=lag, steps=steps, message_bits=bits)
        built[node.name] = LAVA_BUILDERS[type(node)](node, [built[name].out_port for name in node.inputs], context)
        if node.kind == "neuron":
            sink = Sink(shape=(node.size,), buffer=steps)
            built[node.name].out_port.connect(sink.a_in)
            sinks[node.name], lags[node.name] = sink, lag
            if node.name in delayed:  # its spikes outside the windows would land in a window behind the delay
                gate = WindowGate(
                    shape=(node.size,), lag=lag, period=period, timesteps=timesteps, name=f"{node.name}_gate"
                )
                built[node.name].out_port.connect(gate.s_in)
                built[node.name] = LavaNode(
                    out_port=gate.s_out, process=built[node.name].process, v_pre=built[node.name].v_pre
                )
    output = built[neurons[-1].name]
    output_readers = (Read(buffer=steps), Read(buffer=steps))
    output_readers[0].connect_var(output.process.u)
    output_readers[1].connect_var(output.process.v)

    started = time.perf_counter()
    with lava_session(source, timeout) as run:
        try:
            run(condition=RunSteps(num_steps=1), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))  # compiles
            run_seconds = None
            if steps > 1:
                run_started = time.perf_counter()
                run(condition=RunSteps(num_steps=steps - 1))
                run_seconds = time.perf_counter() - run_started
            hardware = {name: sink.data.get().astype(np.int64) for name, sink in sinks.items()}
            u_raw, v_raw = (reader.data.get().astype(np.int64) for reader in output_readers)
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


def membrane_before_reset(neuron: LIFInt, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rebuild ``v`` before the spike reset from per-step ``u`` and ``v`` ``[B, T, N]``.

    ``v_pre[t] = clip(trunc0(v[t-1] (4096 - dv) / 4096) + u[t] + bias)`` with
    ``v[-1] = 0`` (each sample starts from reset state), in Lava's int32 arithmetic.
    """
    from latdeploy.sim.fixed import STATE_LIMIT, _decay

    previous = np.concatenate([np.zeros_like(v[:, :1]), v[:, :-1]], axis=1)
    bias = np.left_shift(neuron.bias_mant.astype(np.int32), np.int32(neuron.bias_exp))
    updated = _decay(previous, (1 << 12) - neuron.dv) + u + bias
    return np.clip(updated, -STATE_LIMIT + 1, STATE_LIMIT - 1).astype(np.int32)


from latdeploy.backends.lava import conv as _conv  # noqa: E402,F401  (registers conv kinds)
from latdeploy.backends.lava import delay_dense as _delay_dense  # noqa: E402,F401  (registers DelayDenseInt)
from latdeploy.backends.lava import neuron_builders as _neuron_builders  # noqa: E402,F401  (registers soft-reset, TTFS, multi-threshold)
