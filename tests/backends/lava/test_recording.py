"""A recorded neuron's own recording equals Lava's own recorders (``RingBuffer`` sink, ``Read``) bit for bit.

For every neuron kind with a Lava Process, one real Lava run records the same neuron with
both: Lava's recorders read back element by element with ``Var.get``, the neuron's recorded
model (:mod:`latdeploy.backends.lava.processes.recording`) hands over one array at the end.
Currents reach the neuron straight from a ``RingBuffer`` source (so ``u`` wraps and ``v``
saturates), and graded payloads (multi-threshold) are included.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.neurons.base import LavaNeuron, import_object
from latdeploy.neurons.registry import NEURON_KINDS

pytest.importorskip("lava.magma.core.run_configs")

from lava.magma.core.run_conditions import RunSteps  # noqa: E402
from lava.magma.core.run_configs import Loihi2SimCfg  # noqa: E402
from lava.proc.io.sink import Read  # noqa: E402
from lava.proc.io.sink import RingBuffer as Sink  # noqa: E402
from lava.proc.io.source import RingBuffer as Source  # noqa: E402

from latdeploy.backends.lava.builders import (  # noqa: E402
    BuildContext,
    LavaNode,
    kind_process_and_model,
    lava_builder,
    process_models,
)
from latdeploy.backends.lava.selection import lava_selected_model  # noqa: E402
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
    context = BuildContext(reset_interval=timesteps, reset_offset=1, lag=0, steps=steps, record_state=True)
    built: LavaNode = lava_builder(node)(node, [_Port(source.s_out)], context)
    sink, readers = Sink(shape=(size,), buffer=steps), (Read(buffer=steps), Read(buffer=steps))
    built.out_port.connect(sink.a_in)
    readers[0].connect_var(built.process.u)
    readers[1].connect_var(built.process.v)
    try:
        config = Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map=process_models([kind]))
        source.run(condition=RunSteps(num_steps=1), run_cfg=config)
        if steps > 1:
            source.run(condition=RunSteps(num_steps=steps - 1))  # as the runner: the first step compiles
        lava = (sink.data.get(), readers[0].data.get(), readers[1].data.get())
        ours = tuple(built.process.receive())
    finally:
        source.stop()
    return lava, ours


@pytest.mark.parametrize("kind", KINDS, ids=[kind.name for kind in KINDS])
@settings(max_examples=2)
@given(data=st.data())
def test_recorded_neurons_equal_lavas_own_recorders_on_every_neuron_kind(kind, data):
    size = data.draw(st.integers(1, 5))
    timesteps = data.draw(st.integers(1, 4))
    steps = timesteps * data.draw(st.integers(1, 3))
    current = st.one_of(st.integers(-300, 300), st.integers(-(1 << 18), 1 << 18))  # beyond 2**17: u wraps
    flat = data.draw(st.lists(current, min_size=size * steps, max_size=size * steps))
    currents = np.array(flat, np.int32).reshape(size, steps)
    bias = np.array(data.draw(st.lists(st.integers(-4096, 4095), min_size=size, max_size=size)), np.int32)
    lava, ours = _record_both(kind, currents, data.draw(st.integers(1, 40)), bias, timesteps)
    for name, theirs, mine in zip(("payloads", "u", "v"), lava, ours, strict=True):
        assert mine.dtype == np.int32 and mine.shape == (size, steps), name
        assert np.array_equal(theirs, mine), name  # Var.get's float64 holds every int32 exactly


def test_receive_before_the_last_step_is_an_error():
    kind = NEURON_KINDS.get("lif")
    node = kind.int_node("r", ("in",), du=4095, dv=0, vth=10, bias_mant=np.zeros(2, np.int32), bias_exp=6)
    context = BuildContext(reset_interval=3, reset_offset=1, lag=0, steps=3)
    built = lava_builder(node)(node, [_Port(Source(data=np.zeros((2, 3), np.int32)).s_out)], context)
    with pytest.raises(BackendError, match="'r' has no recording"):
        built.process.receive()


def test_a_recording_without_state_holds_the_payloads_only():
    kind = NEURON_KINDS.get("lif")
    node = kind.int_node("n", ("in",), du=4095, dv=0, vth=1, bias_mant=np.zeros(2, np.int32), bias_exp=6)
    source = Source(data=np.array([[200, 0, 200], [0, 0, 200]], np.int32))
    context = BuildContext(reset_interval=3, reset_offset=1, lag=0, steps=3)
    built = lava_builder(node)(node, [_Port(source.s_out)], context)
    try:
        config = Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map=process_models([kind]))
        source.run(condition=RunSteps(num_steps=3), run_cfg=config)
        recording = built.process.receive()
    finally:
        source.stop()
    assert recording.shape == (1, 2, 3)
    assert recording[0].tolist() == [[1, 0, 1], [0, 0, 1]]


@pytest.mark.parametrize("kind", KINDS, ids=[kind.name for kind in KINDS])
def test_every_kind_runs_the_model_it_declares_or_lavas_own_choice(kind):
    """A kind that names its model runs that one (for Lava's stock LIFReset: the one Lava's own
    search and selection pick); one that names none runs Lava's choice."""
    process, model = kind_process_and_model(kind)
    assert process is import_object(kind.lava.process)
    if kind.lava.model is None:
        assert model is lava_selected_model(process)
    else:
        assert model is import_object(kind.lava.model)
    if process.__module__.startswith("lava."):  # Lava's own Process: the model Lava itself would run
        assert model is lava_selected_model(process)


def test_lava_selection_for_a_process_without_models_is_refused_by_name():
    from lava.magma.core.process.process import AbstractProcess

    class Modelless(AbstractProcess):
        pass

    with pytest.raises(BackendError, match="no fixed_pt ProcessModel for Modelless"):
        lava_selected_model(Modelless)
