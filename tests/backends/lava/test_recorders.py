"""latdeploy's one-message recorders equal Lava's own (``RingBuffer`` sink, ``Read``) bit for bit.

For every neuron kind with a Lava Process, one real Lava run records the same neuron with
both: Lava's recorders read back element by element with ``Var.get``, ours
(:class:`SpikeRecorder` and :class:`OutputRecorder`) hand over one array at the end.
Currents reach the neuron straight from a ``RingBuffer`` source (so ``u`` wraps and ``v``
saturates), and graded payloads (multi-threshold) are included.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.neurons.base import LavaNeuron
from latdeploy.neurons.registry import NEURON_KINDS

pytest.importorskip("lava.magma.core.run_configs")

from lava.magma.core.run_conditions import RunSteps  # noqa: E402
from lava.magma.core.run_configs import Loihi2SimCfg  # noqa: E402
from lava.proc.io.sink import Read  # noqa: E402
from lava.proc.io.sink import RingBuffer as Sink  # noqa: E402
from lava.proc.io.source import RingBuffer as Source  # noqa: E402

from latdeploy.backends.lava.builders import BuildContext, LavaNode, lava_builder, process_models  # noqa: E402
from latdeploy.backends.lava.processes.recorders import OutputRecorder, SpikeRecorder  # noqa: E402
from latdeploy.errors import BackendError  # noqa: E402

KINDS = [kind for _, kind in NEURON_KINDS.items() if isinstance(kind.lava, LavaNeuron)]


class _Port:
    """The source's out port, as a builder's input (builders connect ``inputs[0]`` to their ``a_in``)."""

    def __init__(self, port):
        self.port = port

    def connect(self, target):
        self.port.connect(target)


def _record_both(kind, currents: np.ndarray, vth: int, bias: np.ndarray, timesteps: int):
    size, steps = currents.shape
    node = kind.int_node("n", ("in",), du=4095, dv=0, vth=vth, bias_mant=bias, bias_exp=6)
    source = Source(data=currents)
    context = BuildContext(reset_interval=timesteps, reset_offset=1, lag=0, steps=steps)
    built: LavaNode = lava_builder(node)(node, [_Port(source.s_out)], context)
    sink, readers = Sink(shape=(size,), buffer=steps), (Read(buffer=steps), Read(buffer=steps))
    built.out_port.connect(sink.a_in)
    readers[0].connect_var(built.process.u)
    readers[1].connect_var(built.process.v)
    spikes = SpikeRecorder(shape=(size,), steps=steps)
    built.out_port.connect(spikes.a_in)
    output = OutputRecorder(u=built.process.u, v=built.process.v, steps=steps)
    built.out_port.connect(output.a_in)
    try:
        config = Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map=process_models([kind]))
        source.run(condition=RunSteps(num_steps=1), run_cfg=config)
        if steps > 1:
            source.run(condition=RunSteps(num_steps=steps - 1))  # as the runner: the first step compiles
        lava = (sink.data.get(), readers[0].data.get(), readers[1].data.get())
        ours = (spikes.receive(), *output.receive())
    finally:
        source.stop()
    return lava, ours


@pytest.mark.parametrize("kind", KINDS, ids=[kind.name for kind in KINDS])
@settings(max_examples=2)
@given(data=st.data())
def test_recorders_equal_lavas_own_on_every_neuron_kind(kind, data):
    size = data.draw(st.integers(1, 5))
    timesteps = data.draw(st.integers(1, 4))
    steps = timesteps * data.draw(st.integers(1, 3))
    current = st.one_of(st.integers(-300, 300), st.integers(-(1 << 18), 1 << 18))  # beyond 2**17: u wraps
    flat = data.draw(st.lists(current, min_size=size * steps, max_size=size * steps))
    currents = np.array(flat, np.int32).reshape(size, steps)
    bias = np.array(data.draw(st.lists(st.integers(-4096, 4095), min_size=size, max_size=size)), np.int32)
    lava, ours = _record_both(kind, currents, data.draw(st.integers(1, 40)), bias, timesteps)
    lava = (lava[0], *lava)  # SpikeRecorder's payloads, then OutputRecorder's payloads, u, v
    for name, theirs, mine in zip(("spikes", "output spikes", "u", "v"), lava, ours, strict=True):
        assert mine.dtype == np.int32 and mine.shape == (size, steps), name
        assert np.array_equal(theirs, mine), name  # Var.get's float64 holds every int32 exactly


def test_receive_before_the_last_step_is_an_error():
    recorder = SpikeRecorder(shape=(2,), steps=3, name="r")
    with pytest.raises(BackendError, match="'r' has no recording"):
        recorder.receive()
