"""latdeploy's own Lava neuron processes, run for real, against the fixed-point kernels slot by slot.

Each neuron is driven straight from a ``RingBuffer`` of int32 currents (no synapse, so
any current can be applied: 24-bit wraps of ``u``, int32 wraps of ``a << 6``,
saturation of ``v``), over several samples with the per-sample reset the runner uses.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.ir.neurons_ext import STATE_MAX, MultiThresholdLIFInt, SoftResetLIFInt, TTFSInt
from latdeploy.sim.fixed_neurons import neuron_int

lava = pytest.importorskip("lava.magma.core.run_configs")

from lava.magma.core.run_conditions import RunSteps  # noqa: E402
from lava.magma.core.run_configs import Loihi2SimCfg  # noqa: E402
from lava.proc.io.sink import Read  # noqa: E402
from lava.proc.io.sink import RingBuffer as Sink  # noqa: E402
from lava.proc.io.source import RingBuffer as Source  # noqa: E402

from latdeploy.backends.lava.processes.neurons import (  # noqa: E402
    MultiThresholdLIFProcess,
    SoftResetLIFProcess,
    TTFSProcess,
)

PROCESSES = {SoftResetLIFInt: SoftResetLIFProcess, TTFSInt: TTFSProcess, MultiThresholdLIFInt: MultiThresholdLIFProcess}


def run_neuron_in_lava(node, currents: np.ndarray) -> dict[str, np.ndarray]:
    """Drive ``node``'s Lava process with ``currents`` ``[S, T, N]``; return spikes, u, v as ``[S, T, N]``."""
    samples, timesteps, size = currents.shape
    steps = samples * timesteps
    stream = currents.transpose(2, 0, 1).reshape(size, steps).astype(np.int32)
    extra = {"levels": node.levels, "reset": node.reset} if isinstance(node, MultiThresholdLIFInt) else {}
    neuron = PROCESSES[type(node)](
        shape=(size,),
        du=node.du,
        dv=node.dv,
        vth=node.vth,
        bias_mant=node.bias_mant,
        bias_exp=node.bias_exp,
        reset_interval=timesteps,
        reset_offset=1,
        **extra,
    )
    source = Source(data=stream)
    source.s_out.connect(neuron.a_in)
    sink = Sink(shape=(size,), buffer=steps)
    neuron.s_out.connect(sink.a_in)
    readers = {"u": Read(buffer=steps), "v": Read(buffer=steps)}
    readers["u"].connect_var(neuron.u)
    readers["v"].connect_var(neuron.v)
    try:
        source.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        recorded = {"spikes": sink.data.get()} | {key: reader.data.get() for key, reader in readers.items()}
    finally:
        source.stop()
    return {key: value.reshape(size, samples, timesteps).transpose(1, 2, 0) for key, value in recorded.items()}


@st.composite
def neurons_and_currents(draw, kind):
    size = draw(st.integers(1, 4))
    timesteps = draw(st.integers(1, 5))
    samples = draw(st.integers(1, 3))
    levels = draw(st.integers(1, 7)) if kind is MultiThresholdLIFInt else 1
    vth_limit = min((1 << 17) - 1, STATE_MAX // (levels << 6))
    fields = {
        "du": draw(st.one_of(st.sampled_from([-1, 0, 1, 2047, 4094, 4095]), st.integers(-1, 4095))),
        "dv": draw(st.one_of(st.sampled_from([0, 1, 4095, 4096]), st.integers(0, 4096))),
        "vth": draw(st.one_of(st.integers(1, 300), st.integers(1, vth_limit))),
        "bias_mant": np.array(draw(st.lists(st.integers(-4096, 4095), min_size=size, max_size=size))),
        "bias_exp": draw(st.integers(0, 7)),
    }
    if kind is MultiThresholdLIFInt:
        fields |= {"levels": levels, "reset": draw(st.sampled_from(["zero", "subtract"]))}
    node = kind("n", (), **fields)
    current = st.one_of(
        st.integers(-400, 400),
        st.integers(-(1 << 18), 1 << 18),  # a << 6 beyond 2**23: u wraps
        st.integers(-(1 << 26), 1 << 26),  # a << 6 beyond 2**31: the int32 shift wraps
        st.sampled_from([(1 << 17) - 1, 1 << 17, -(1 << 17), (1 << 17) + 1]),
    )
    flat = draw(st.lists(current, min_size=samples * timesteps * size, max_size=samples * timesteps * size))
    return node, np.array(flat, np.int64).reshape(samples, timesteps, size).astype(np.int32)


def _check(node, currents):
    trace, _ = neuron_int(node, currents)
    lava_run = run_neuron_in_lava(node, currents)
    assert np.array_equal(lava_run["spikes"], trace.spikes), "spikes"
    assert np.array_equal(lava_run["u"], trace.u), "u"
    assert np.array_equal(lava_run["v"], trace.v), "v"


@settings(max_examples=4)
@given(case=neurons_and_currents(SoftResetLIFInt))
def test_soft_reset_process_equals_fixed_point(case):
    _check(*case)


@settings(max_examples=4)
@given(case=neurons_and_currents(TTFSInt))
def test_ttfs_process_equals_fixed_point(case):
    node, currents = case
    _check(node, currents)
    assert neuron_int(node, currents)[0].spikes.sum(axis=1).max() <= 1


@settings(max_examples=5)
@given(case=neurons_and_currents(MultiThresholdLIFInt))
def test_multi_threshold_process_equals_fixed_point(case):
    _check(*case)


def test_corners_wrap_saturate_and_every_level():
    """Hand-picked corners: u wraps, v saturates, all graded levels appear, the TTFS neuron stays silent."""
    currents = np.array(
        [[[(1 << 17) + 5, 1, 300], [(1 << 17), -(1 << 17), 50], [0, (1 << 16), 200], [-7, (1 << 16), 0]]], np.int32
    )
    for node in (
        MultiThresholdLIFInt(
            "n", (), du=4095, dv=0, vth=100, bias_mant=np.array([0, 0, 0]), levels=3, reset="subtract"
        ),
        MultiThresholdLIFInt("n", (), du=0, dv=1, vth=60, bias_mant=np.array([-4096, 4095, 7]), bias_exp=7, levels=5),
        TTFSInt("n", (), du=10, dv=4095, vth=1, bias_mant=np.array([5, -5, 0]), bias_exp=3),
        SoftResetLIFInt("n", (), du=4095, dv=0, vth=(1 << 17) - 1, bias_mant=np.array([4095, 0, -1]), bias_exp=7),
    ):
        trace, overflow = neuron_int(node, currents)
        _check(node, currents)
        assert overflow["u_wraps"] > 0
    graded, overflow = neuron_int(
        MultiThresholdLIFInt("n", (), vth=100, bias_mant=np.array([0, 0, 0]), levels=3, reset="subtract"),
        np.array([[[0, 150, 700], [0, 100, 0], [0, 0, 0]]], np.int32),
    )
    assert graded.spikes[0].T.tolist() == [[0, 0, 0], [1, 1, 0], [3, 3, 1]]
