"""Build the integer graph from real lava-nc processes and run it on Loihi2SimCfg(fixed_pt).

Network: a ``RingBuffer`` spike source, then per layer ``Dense`` (weights,
``weight_exp``, ``num_weight_bits``) -> ``LIFReset`` -> a ``RingBuffer`` sink of its
spikes; the output layer's ``u`` and ``v`` are also read every step (``Read``).

Many samples share one run, so Lava's start-up is paid once: sample ``s`` feeds
the source during steps ``s*T .. s*T + T - 1``. A layer with lag ``k`` sees that
sample ``k`` steps later, so it resets ``u`` and ``v`` every ``T`` steps at phase
``k`` (``LIFReset(reset_interval=T, reset_offset=k + 1)``, Lava counting steps
from 1): every layer starts each sample from zero state, as the fixed-point
simulator does, and the run lasts ``n*T + L`` steps for ``L`` synaptic layers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from latdeploy.errors import BackendError
from latdeploy.ir import DenseInt, Graph, LIFInt
from latdeploy.sim.trace import LayerTrace, Trace


@dataclass
class LavaRun:
    """A finished Lava run.

    ``trace`` is in algorithmic time (aligned by each layer's lag); ``hardware``
    holds each layer's raw sink recording ``[N, steps]`` in hardware time;
    ``seconds`` is the wall time of ``run`` (compile + simulate + read back).
    """

    trace: Trace
    hardware: dict[str, np.ndarray]
    hardware_steps: int
    seconds: float


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
        from lava.proc.dense.process import Dense
        from lava.proc.io.sink import Read
        from lava.proc.io.sink import RingBuffer as Sink
        from lava.proc.io.source import RingBuffer as Source
        from lava.proc.lif.process import LIFReset
    except Exception as error:  # ImportError, or lava's own failure on Python >= 3.11
        raise BackendError(
            f"lava-nc cannot be imported ({type(error).__name__}: {error}); the loihi2-sim target needs "
            "lava-nc 0.10.0 on Python 3.10: run 'bash tools/setup_env.sh' and use .venv/bin/latdeploy"
        ) from error
    return RunSteps, Loihi2SimCfg, Dense, Read, Sink, Source, LIFReset


def _align(recording: np.ndarray, lag: int, samples: int, timesteps: int) -> np.ndarray:
    """Cut ``[N, steps]`` hardware data into ``[samples, T, N]`` algorithmic time."""
    window = recording[:, lag : lag + samples * timesteps]
    return window.reshape(recording.shape[0], samples, timesteps).transpose(1, 2, 0)


def run_lava(graph: Graph, input_spikes: np.ndarray) -> LavaRun:
    """Run the integer ``graph`` on ``input_spikes`` ``[B, T, n_in]`` in Lava.

    Returns:
        A :class:`LavaRun`; its trace holds each layer's spikes and, for the output
        layer, ``u``, ``v`` and ``v_pre`` (``v`` before reset, rebuilt from Lava's
        ``u`` and previous ``v`` with the LIF equation, since Lava resets ``v`` in
        the same step it fires).

    Raises:
        BackendError: if Lava is not importable or the run fails.
    """
    RunSteps, Loihi2SimCfg, Dense, Read, Sink, Source, LIFReset = _import_lava()
    samples, timesteps, fan_in = input_spikes.shape
    layers = [(graph.node(n.inputs[0]), n) for n in graph.neurons()]
    for synapse, neuron in layers:
        if not isinstance(synapse, DenseInt) or not isinstance(neuron, LIFInt):
            raise BackendError(f"node {neuron.name!r}: the Lava backend maps DenseInt -> LIFInt pairs only")
    depth = len(layers)
    steps = samples * timesteps + depth
    stream = np.zeros((fan_in, steps), np.int32)
    stream[:, : samples * timesteps] = input_spikes.transpose(2, 0, 1).reshape(fan_in, -1)

    source = Source(data=stream)
    upstream = source.s_out
    sinks, lags = {}, {}
    output_readers = ()
    for synapse, neuron in layers:
        lag = graph.lag(neuron.name)
        dense = Dense(
            weights=synapse.weight.astype(np.int32),
            weight_exp=synapse.weight_exp,
            num_weight_bits=synapse.num_weight_bits,
            name=synapse.name,
        )
        lif = LIFReset(
            shape=(neuron.size,),
            du=neuron.du,
            dv=neuron.dv,
            vth=neuron.vth,
            bias_mant=neuron.bias_mant.astype(np.int32),
            bias_exp=neuron.bias_exp,
            reset_interval=timesteps,
            reset_offset=lag + 1,
            name=neuron.name,
        )
        upstream.connect(dense.s_in)
        dense.a_out.connect(lif.a_in)
        sink = Sink(shape=(neuron.size,), buffer=steps)
        lif.s_out.connect(sink.a_in)
        sinks[neuron.name], lags[neuron.name] = sink, lag
        upstream = lif.s_out
        last = lif
    output_readers = (Read(buffer=steps), Read(buffer=steps))
    output_readers[0].connect_var(last.u)
    output_readers[1].connect_var(last.v)

    started = time.perf_counter()
    try:
        source.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        hardware = {name: sink.data.get().astype(np.int64) for name, sink in sinks.items()}
        u_raw, v_raw = (reader.data.get().astype(np.int64) for reader in output_readers)
    except Exception as error:
        raise BackendError(f"Lava run failed: {type(error).__name__}: {error}") from error
    finally:
        try:
            source.stop()
        except Exception:  # a run that never started has nothing to stop
            pass
    seconds = time.perf_counter() - started

    traces = {}
    for name, recording in hardware.items():
        traces[name] = LayerTrace(
            spikes=_align(recording, lags[name], samples, timesteps).astype(np.uint8), v_pre=np.zeros(0)
        )
    output_name, (_, output_neuron) = layers[-1][1].name, layers[-1]
    lag = lags[output_name]
    u = _align(u_raw, lag, samples, timesteps).astype(np.int32)
    v = _align(v_raw, lag, samples, timesteps).astype(np.int32)
    traces[output_name].u, traces[output_name].v = u, v
    traces[output_name].v_pre = membrane_before_reset(output_neuron, u, v)
    return LavaRun(trace=Trace(layers=traces), hardware=hardware, hardware_steps=steps, seconds=seconds)


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
