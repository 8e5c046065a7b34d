"""The recurrent fixed-point layer against a step-by-step numpy transcription of Lava's processes.

The transcription runs in hardware time as Lava does: two ``Dense`` (feed-forward and recurrent)
each sending last step's ``a_buff``, their int32 outputs added by the neuron's ``a_in``, then
``AbstractPyLifModelFixed.subthr_dynamics`` and the stock LIF's spike/reset, line for line from
lava-nc 0.10.0. Weights, exponents and biases are drawn over their full ranges, so ``u`` wraps at
24 bits and ``v`` saturates (the corners are also pinned by explicit examples).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.errors import ModelFormatError
from latdeploy.ir import LIF, Dense, DenseInt, Graph, LIFInt, RecurrentDense, RecurrentDenseInt, SpikeInput
from latdeploy.sim.fixed import lava_weights, simulate_fixed
from latdeploy.sim.float_sim import simulate_float


def _lava_dense(weights: np.ndarray, num_weight_bits: int) -> np.ndarray:
    # lava.utils.weightutils via the already tested lava_weights (tests/sim/test_fixed.py)
    return lava_weights(weights, num_weight_bits).astype(np.int32)


def _transcription(spikes, w_ff, exp_ff, w_rec, exp_rec, du, dv, vth, bias_mant, bias_exp):
    """Lava's Dense + Dense -> LIF in hardware time, one sample (``spikes`` ``[T, n_in]``) from rest."""
    steps = spikes.shape[0]
    size = w_ff.shape[0]
    buff_ff = np.zeros(size, np.int32)
    buff_rec = np.zeros(size, np.int32)
    u = np.zeros(size, np.int32)
    v = np.zeros(size, np.int32)
    s = np.zeros(size, bool)
    bias = np.left_shift(bias_mant.astype(np.int32), bias_exp)
    out = []
    max_uv = 2**23
    for h in range(steps + 1):  # the layer lags one step behind its input
        # both Dense send last step's buffer, then accumulate this step's input
        a_in = np.zeros(size, np.int16) + buff_ff + buff_rec  # PyInPortVectorDense.recv: numpy sum
        x = spikes[h].astype(bool) if h < steps else np.zeros(spikes.shape[1], bool)
        acc = w_ff[:, x].sum(axis=1)
        buff_ff = np.left_shift(acc, exp_ff) if exp_ff > 0 else np.right_shift(acc, -exp_ff)
        if h == 0:
            continue  # the layer's first algorithmic step is hardware step 1
        # LIF (subthr_dynamics, lava/proc/lif/models.py)
        decayed = np.int64(u) * (4096 - (du + 1))
        decayed = np.int32(np.sign(decayed) * np.right_shift(np.abs(decayed), 12))
        decayed = decayed + np.left_shift(a_in, 6)
        wrapped = np.where(decayed > max_uv, decayed - 2 * max_uv, decayed)
        wrapped = np.where(wrapped <= -max_uv, decayed + 2 * max_uv, wrapped)
        u = wrapped.astype(np.int32)
        dvol = np.int64(v) * (4096 - dv)
        dvol = np.int32(np.sign(dvol) * np.right_shift(np.abs(dvol), 12))
        v = np.clip(dvol + u + bias, -max_uv + 1, max_uv - 1).astype(np.int32)
        s = v > (vth << 6)
        v_after = v.copy()
        v_after[s] = 0
        out.append((s.astype(np.uint8), u.copy(), v_after.copy()))
        v = v_after
        # the recurrent Dense receives this step's spikes
        acc = w_rec[:, s].sum(axis=1)
        buff_rec = np.left_shift(acc, exp_rec) if exp_rec > 0 else np.right_shift(acc, -exp_rec)
    return [np.stack(part) for part in zip(*out, strict=True)]


@st.composite
def recurrent_layers(draw):
    n_in, size, steps = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(1, 8))
    weights = st.integers(-256, 254)

    def matrix(rows, columns):
        return np.array(draw(st.lists(weights, min_size=rows * columns, max_size=rows * columns))).reshape(
            rows, columns
        )

    return {
        "spikes": np.array(
            draw(st.lists(st.booleans(), min_size=2 * steps * n_in, max_size=2 * steps * n_in)), np.uint8
        ).reshape(2, steps, n_in),
        "w_ff": matrix(size, n_in),
        "exp_ff": draw(st.integers(-8, 7)),
        "w_rec": matrix(size, size),
        "exp_rec": draw(st.integers(-8, 7)),
        "bits": draw(st.integers(1, 8)),
        "du": draw(st.one_of(st.sampled_from([-1, 4095]), st.integers(-1, 4095))),
        "dv": draw(st.one_of(st.sampled_from([0, 4096]), st.integers(0, 4096))),
        "vth": draw(st.one_of(st.integers(0, 300), st.integers(0, (1 << 17) - 1))),
        "bias_mant": np.array(draw(st.lists(st.integers(-4096, 4095), min_size=size, max_size=size))),
        "bias_exp": draw(st.integers(0, 7)),
    }


def _graph(layer: dict) -> Graph:
    size, n_in = layer["w_ff"].shape
    nodes = (
        SpikeInput("input", (), neurons=n_in),
        DenseInt("ff", ("input",), weight=layer["w_ff"], weight_exp=layer["exp_ff"], num_weight_bits=layer["bits"]),
        LIFInt(
            "lif",
            ("ff",),
            du=layer["du"],
            dv=layer["dv"],
            vth=layer["vth"],
            bias_mant=layer["bias_mant"],
            bias_exp=layer["bias_exp"],
        ),
        RecurrentDenseInt(
            "rec", ("lif",), weight=layer["w_rec"], weight_exp=layer["exp_rec"], num_weight_bits=layer["bits"]
        ),
    )
    return Graph(nodes, {"timesteps": layer["spikes"].shape[1]})


def _check(layer: dict) -> dict[str, int]:
    trace = simulate_fixed(_graph(layer), layer["spikes"])
    lif = trace.layers["lif"]
    for sample in range(layer["spikes"].shape[0]):
        s, u, v = _transcription(
            layer["spikes"][sample],
            _lava_dense(layer["w_ff"], layer["bits"]),
            layer["exp_ff"],
            _lava_dense(layer["w_rec"], layer["bits"]),
            layer["exp_rec"],
            layer["du"],
            layer["dv"],
            layer["vth"],
            layer["bias_mant"],
            layer["bias_exp"],
        )
        assert np.array_equal(lif.spikes[sample], s)
        assert np.array_equal(lif.u[sample], u)
        assert np.array_equal(lif.v[sample], v)
    return trace.overflow["lif"]


@settings(max_examples=150, deadline=None)
@given(layer=recurrent_layers())
def test_recurrent_layer_equals_the_lava_transcription(layer):
    _check(layer)


def test_overflow_corners_wrap_u_and_saturate_v_like_lava():
    size, steps = 4, 8
    layer = {
        "spikes": np.ones((2, steps, 3), np.uint8),
        "w_ff": np.full((size, 3), 254),
        "exp_ff": 7,
        "w_rec": np.array([[254, -256, 254, -256]] * size),
        "exp_rec": 7,
        "bits": 8,
        "du": -1,  # u keeps everything: wraps quickly
        "dv": 0,
        "vth": (1 << 17) - 1,
        "bias_mant": np.full(size, 4095),
        "bias_exp": 7,
    }
    overflow = _check(layer)
    assert overflow["u_wraps"] > 0 and overflow["v_saturations"] > 0


def test_the_loop_changes_the_spikes_and_fires_one_step_late():
    layer = {
        "spikes": np.zeros((1, 5, 1), np.uint8),
        "w_ff": np.array([[254], [0]]),
        "exp_ff": 0,
        "w_rec": np.array([[0, 0], [254, 0]]),  # neuron 0 drives neuron 1
        "exp_rec": 0,
        "bits": 8,
        "du": 4095,
        "dv": 4096,
        "vth": 100,
        "bias_mant": np.zeros(2, np.int64),
        "bias_exp": 0,
    }
    layer["spikes"][0, 1, 0] = 1
    spikes = simulate_fixed(_graph(layer), layer["spikes"]).layers["lif"].spikes[0]
    assert spikes[:, 0].tolist() == [0, 1, 0, 0, 0]
    assert spikes[:, 1].tolist() == [0, 0, 1, 0, 0]  # W_rec @ s[t-1]


def test_float_loop_is_one_step_late_and_zero_weights_equal_feed_forward():
    rng = np.random.default_rng(3)
    w_ff = rng.normal(size=(4, 3)).astype(np.float32)
    w_rec = rng.normal(size=(4, 4)).astype(np.float32)
    bias = np.full(4, 0.1, np.float32)
    spikes = (rng.random((2, 7, 3)) < 0.6).astype(np.uint8)

    def graph(rec):
        nodes = [SpikeInput("input", (), neurons=3), Dense("ff", ("input",), weight=w_ff)]
        nodes.append(LIF("lif", ("ff",), threshold=0.8, current_decay=0.5, voltage_decay=0.25, bias=bias))
        if rec is not None:
            nodes.append(RecurrentDense("rec", ("lif",), weight=rec))
        return Graph(tuple(nodes), {"timesteps": 7})

    plain = simulate_float(graph(None), spikes).layers["lif"]
    zero = simulate_float(graph(np.zeros((4, 4), np.float32)), spikes).layers["lif"]
    assert np.array_equal(plain.spikes, zero.spikes) and np.array_equal(plain.v_pre, zero.v_pre)
    looped = simulate_float(graph(w_rec), spikes).layers["lif"]
    assert np.array_equal(looped.spikes[:, 0], plain.spikes[:, 0])  # no recurrent input at step 0
    assert not np.array_equal(looped.spikes, plain.spikes)


def test_float_loop_delivers_one_step_late():
    nodes = (
        SpikeInput("input", (), neurons=1),
        Dense("ff", ("input",), weight=np.array([[1.0], [0.0]], np.float32)),
        LIF("lif", ("ff",), threshold=1.0, bias=np.zeros(2, np.float32)),  # IF: current_decay 1, no leak
        RecurrentDense("rec", ("lif",), weight=np.array([[0.0, 0.0], [1.0, 0.0]], np.float32)),
    )
    spikes = np.zeros((1, 5, 1), np.uint8)
    spikes[0, 1, 0] = 1
    out = simulate_float(Graph(nodes, {"timesteps": 5}), spikes).layers["lif"].spikes[0]
    assert out[:, 0].tolist() == [0, 1, 0, 0, 0] and out[:, 1].tolist() == [0, 0, 1, 0, 0]


def test_graph_validator_allows_only_the_layer_self_loop():
    rng = np.random.default_rng(0)
    base = [
        SpikeInput("input", (), neurons=2),
        DenseInt("dense", ("input",), weight=rng.integers(-128, 128, (3, 2)) * 2),
        LIFInt("lif", ("dense",), bias_mant=np.zeros(3, np.int32)),
    ]
    with pytest.raises(ModelFormatError, match="must be square"):
        RecurrentDenseInt("rec", ("lif",), weight=np.zeros((3, 2), np.int32))
    with pytest.raises(ModelFormatError, match="must follow a neuron layer"):
        Graph((*base[:2], RecurrentDenseInt("rec", ("dense",), weight=np.zeros((3, 3), np.int32))), {"timesteps": 2})
    loop = RecurrentDenseInt("rec", ("lif",), weight=np.zeros((3, 3), np.int32))
    with pytest.raises(ModelFormatError, match="already has the recurrent connection"):
        Graph((*base, loop, loop.replace(name="rec2")), {"timesteps": 2})
    with pytest.raises(ModelFormatError, match="goes back into its own layer only"):
        Graph((*base, loop, LIFInt("next", ("rec",), bias_mant=np.zeros(3, np.int32))), {"timesteps": 2})
    assert Graph((*base, loop), {"timesteps": 2}).loops() == {"lif": loop}
