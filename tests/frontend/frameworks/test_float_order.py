"""The float-order kinds against the frameworks' own step functions, with hypothesis: Norse's
``lif_feed_forward_step``/``lif_box_feed_forward_step`` and SpikingJelly's ``LIFNode(decay_input=True)``
give the same spikes and the same ``v`` bits as ``norse_lif`` and ``decay_input_lif``/``decay_input_soft_lif``,
on currents drawn to land ``v`` on and around the threshold; the stock neuron on rescaled ``v`` (what
latdeploy converted to before) does not."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.neurons.decay_input_lif import DecayInputLIFNeuron
from latdeploy.neurons.norse_lif import NorseLIFNeuron
from latdeploy.nn.neurons import LIF
from tests.frontend.frameworks.optional import framework

norse_lif = framework("norse.torch.functional.lif")
norse_box = framework("norse.torch.functional.lif_box")
sj_neuron = framework("spikingjelly.activation_based.neuron")

STEPS, BATCH, SIZE = 12, 64, 8


def _currents(seed: int, magnitude: float, quantum: float) -> torch.Tensor:
    """Float32 currents ``[T, B, N]``; on a coarse grid (``quantum``) sums land exactly on thresholds often."""
    rng = np.random.default_rng(seed)
    values = rng.normal(0.3, 1.0, (STEPS, BATCH, SIZE)) * magnitude
    if quantum:
        values = np.round(values / quantum) * quantum
    return torch.from_numpy(values.astype(np.float32))


def _norse(currents: torch.Tensor, c_mem: float, c_syn: float | None, v_th: float) -> torch.Tensor:
    dt = 1e-3
    spikes = []
    if c_syn is None:
        p = norse_box.LIFBoxParameters(tau_mem_inv=torch.as_tensor(np.float32(c_mem / dt)), v_th=torch.as_tensor(v_th))
        state = norse_box.LIFBoxFeedForwardState(v=torch.zeros(BATCH, SIZE))
        step = norse_box.lif_box_feed_forward_step
    else:
        p = norse_lif.LIFParameters(
            tau_mem_inv=torch.as_tensor(np.float32(c_mem / dt)),
            tau_syn_inv=torch.as_tensor(np.float32(c_syn / dt)),
            v_th=torch.as_tensor(v_th),
        )
        state = norse_lif.LIFFeedForwardState(v=torch.zeros(BATCH, SIZE), i=torch.zeros(BATCH, SIZE))
        step = norse_lif.lif_feed_forward_step
    for t in range(currents.shape[0]):
        z, state = step(currents[t], state, p, dt)
        spikes.append(z)
    return (
        torch.stack(spikes),
        float(torch.as_tensor(dt) * p.tau_mem_inv),
        (1.0 if c_syn is None else float(torch.as_tensor(dt) * p.tau_syn_inv)),
    )


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    c_mem=st.sampled_from([0.1, 0.2, 0.3, 1 / 3, 0.5, 0.77, 1.0]),
    c_syn=st.one_of(st.none(), st.sampled_from([0.2, 0.5, 1.0])),
    v_th=st.sampled_from([0.1, 0.3, 0.5, 1.0, 1.7]),
    magnitude=st.sampled_from([0.5, 2.0, 50.0]),
    quantum=st.sampled_from([0.0, 0.1, 0.25]),
)
def test_norse_lif_kind_equals_norses_step_bit_for_bit(seed, c_mem, c_syn, v_th, magnitude, quantum):
    currents = _currents(seed, magnitude, quantum)
    theirs, mem, syn = _norse(currents, c_mem, c_syn, v_th)
    ours, _ = NorseLIFNeuron(SIZE, threshold=v_th, current_decay=syn, voltage_decay=mem, bias=False)(currents)
    assert torch.equal(ours, theirs)


def _sj(currents: torch.Tensor, tau: float, v_th: float, v_reset: float | None) -> torch.Tensor:
    node = sj_neuron.LIFNode(tau=tau, v_threshold=v_th, v_reset=v_reset, step_mode="m")
    node.eval()
    with torch.no_grad():
        return node(currents)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    tau=st.sampled_from([1.5, 1.7, 2.0, 3.0, 10.0, 49.0]),
    v_th=st.sampled_from([0.1, 0.3, 0.5, 1.0]),
    v_reset=st.sampled_from([None, 0.0]),
    magnitude=st.sampled_from([0.5, 2.0, 50.0]),
    quantum=st.sampled_from([0.0, 0.1, 0.25]),
)
def test_decay_input_kinds_equal_spikingjellys_lifnode_bit_for_bit(seed, tau, v_th, v_reset, magnitude, quantum):
    currents = _currents(seed, magnitude, quantum)
    theirs = _sj(currents, tau, v_th, v_reset)
    reset = "subtract" if v_reset is None else "zero"
    module = DecayInputLIFNeuron(SIZE, threshold=v_th, voltage_decay=1.0 / tau, bias=False, reset=reset)
    ours, _ = module(currents)
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize("framework_name", ["norse", "spikingjelly"])
def test_the_stock_neuron_on_rescaled_v_differs_somewhere(framework_name):
    """Why the kinds exist: the same neuron in real arithmetic, evaluated in latdeploy's stock float order,
    misses or adds spikes where ``v`` lands within float32 rounding of the threshold."""
    differing = 0
    for seed in range(40):
        currents = _currents(seed, 2.0, 0.1)
        if framework_name == "norse":
            theirs, mem, _ = _norse(currents, 0.3, None, 0.3)
            stock = LIF(
                SIZE,
                threshold=float(np.nextafter(np.float32(0.3 / mem), np.float32(np.inf))),
                voltage_decay=mem,
                bias=False,
            )
        else:
            theirs = _sj(currents, 3.0, 0.3, 0.0)
            stock = LIF(SIZE, threshold=3.0 * 0.3, voltage_decay=1.0 / 3.0, bias=False)
        with torch.no_grad():
            ours, _ = stock(currents)
        differing += int((ours != theirs).sum())
    assert differing > 0
