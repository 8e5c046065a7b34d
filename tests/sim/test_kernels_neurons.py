"""The compiled kernels of the extra neurons equal the numpy reference on every input, overflows included."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.ir.neurons_ext import STATE_MAX, MultiThresholdLIFInt, SoftResetLIFInt, TTFSInt
from latdeploy.sim.fixed_neurons import neuron_int
from latdeploy.sim.kernels_neurons import neuron_int_compiled


@settings(max_examples=60)
@given(
    kind=st.sampled_from(["soft", "ttfs", "multi_zero", "multi_subtract"]),
    seed=st.integers(0, 2**31 - 1),
    du=st.one_of(st.sampled_from([-1, 0, 4095]), st.integers(-1, 4095)),
    dv=st.one_of(st.sampled_from([0, 4095, 4096]), st.integers(0, 4096)),
    vth=st.integers(1, 400),
    bias_exp=st.integers(0, 7),
    magnitude=st.sampled_from([300, 1 << 18, 1 << 26]),
    shape=st.tuples(st.integers(1, 3), st.integers(1, 7), st.integers(1, 130)),
    parallel=st.sampled_from([None, True, False]),
)
def test_compiled_equals_reference(kind, seed, du, dv, vth, bias_exp, magnitude, shape, parallel):
    """On one thread and in parallel (sample, block of neurons) tasks alike."""
    rng = np.random.default_rng(seed)
    batch, steps, size = shape
    fields = {"du": du, "dv": dv, "vth": vth, "bias_mant": rng.integers(-4096, 4096, size), "bias_exp": bias_exp}
    levels = int(rng.integers(1, 9))
    fields["vth"] = min(vth, STATE_MAX // (levels << 6))
    node = {
        "soft": lambda: SoftResetLIFInt("n", (), **fields),
        "ttfs": lambda: TTFSInt("n", (), **fields),
        "multi_zero": lambda: MultiThresholdLIFInt("n", (), levels=levels, **fields),
        "multi_subtract": lambda: MultiThresholdLIFInt("n", (), levels=levels, reset="subtract", **fields),
    }[kind]()
    current = rng.integers(-magnitude, magnitude, shape).astype(np.int32)
    reference, reference_overflow = neuron_int(node, current)
    compiled, overflow = neuron_int_compiled(node, current, parallel)
    for key in ("spikes", "v_pre", "u", "v"):
        assert np.array_equal(getattr(compiled, key), getattr(reference, key)), key
    assert overflow == reference_overflow
